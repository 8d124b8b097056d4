#include "net/http/http1/errors.h"

#include <boost/beast/http/error.hpp>

namespace weft::http::http1 {

const boost::system::error_category& errorCategory() {
  struct Category : boost::system::error_category {
    const char* name() const noexcept override { return "http1"; }
    std::string message(int ev) const override {
      switch (static_cast<Errc>(ev)) {
        case Errc::kChunkLineTooLong:
          return "chunk size line too long";
        case Errc::kTrailersTooLarge:
          return "trailer section too large";
        case Errc::kBadStatus:
          return "response status below 100";
      }
      return "unknown http1 error";
    }
  };
  static const Category category;
  return category;
}

bool isMalformed(const error_code& ec) {
  if (ec.category() == errorCategory()) return true;
  if (ec.category() != beast::http::make_error_code(beast::http::error::bad_method).category()) {
    return false;
  }
  // Beast's category also holds the parser's flow signals and the ends of a stream.
  return ec != beast::http::error::need_more && ec != beast::http::error::need_buffer &&
         ec != beast::http::error::end_of_stream && ec != beast::http::error::partial_message &&
         ec != beast::http::error::end_of_chunk && ec != beast::http::error::stale_parser;
}

}  // namespace weft::http::http1
