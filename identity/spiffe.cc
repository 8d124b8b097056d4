#include "identity/spiffe.h"

#include <openssl/x509v3.h>

#include "common/strings.h"

namespace weft::identity {
namespace {

constexpr std::string_view kScheme = "spiffe://";
constexpr size_t kMaxIdLength = 2048;

bool validTrustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool validPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

absl::StatusOr<SpiffeId> parseSpiffeId(std::string_view uri) {
  if (uri.size() > kMaxIdLength) {
    return absl::InvalidArgumentError("SPIFFE ID longer than 2048 bytes");
  }
  if (!uri.starts_with(kScheme)) {
    return absl::InvalidArgumentError(
        weft::strCat("not a SPIFFE ID (want spiffe://...): '", uri, "'"));
  }
  std::string_view rest = uri.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view td = rest.substr(0, slash);
  if (td.empty()) {
    return absl::InvalidArgumentError(weft::strCat("SPIFFE ID has no trust domain: '", uri, "'"));
  }
  for (char c : td) {
    if (!validTrustDomainChar(c)) {
      return absl::InvalidArgumentError(weft::strCat(
          "SPIFFE ID trust domain has invalid character '", std::string(1, c), "': '", uri, "'"));
    }
  }
  SpiffeId id{std::string(td), ""};
  if (slash == std::string_view::npos) return id;
  std::string_view path = rest.substr(slash + 1);
  for (std::string_view seg : weft::split(path, '/')) {
    if (seg.empty() || seg == "." || seg == "..") {
      return absl::InvalidArgumentError(weft::strCat("SPIFFE ID has an invalid path: '", uri, "'"));
    }
    for (char c : seg) {
      if (!validPathChar(c)) {
        return absl::InvalidArgumentError(weft::strCat("SPIFFE ID path has invalid character '",
                                                       std::string(1, c), "': '", uri, "'"));
      }
    }
  }
  id.path = std::string(path);
  return id;
}

std::string workloadIdentity(std::string_view trust_domain, std::string_view ns,
                             std::string_view service_account) {
  return weft::strCat(kScheme, trust_domain, "/ns/", ns, "/sa/", service_account);
}

std::vector<std::string> uriSans(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = name->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

absl::StatusOr<SpiffeId> spiffeIdOf(X509* cert) {
  std::vector<std::string> uris = uriSans(cert);
  std::vector<std::string> spiffe;
  for (auto& u : uris) {
    if (u.starts_with(kScheme)) spiffe.push_back(u);
  }
  if (spiffe.empty()) {
    return absl::PermissionDeniedError(
        uris.empty() ? "certificate has no URI SAN (no SPIFFE identity)"
                     : weft::strCat("certificate has no spiffe:// URI SAN (has ",
                                    weft::join(uris, ", "), ")"));
  }
  if (spiffe.size() > 1) {
    return absl::PermissionDeniedError(
        weft::strCat("certificate has several SPIFFE IDs (", weft::join(spiffe, ", "), ")"));
  }
  return parseSpiffeId(spiffe.front());
}

}  // namespace weft::identity
