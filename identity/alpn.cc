#include "identity/alpn.h"

#include <string_view>

namespace weft::identity {
namespace {

// In wire format (length-prefixed), in order of preference.
// The opaque protocol last: a client offers it alone, never with HTTP.
constexpr unsigned char kProtocols[] = {2,   'h', '2', 8,   'h', 't', 't', 'p', '/',
                                        '1', '.', '1', 13,  'w', 'e', 'f', 't', '-',
                                        'o', 'p', 'a', 'q', 'u', 'e', '/', '1'};
constexpr size_t kHttpProtocolsSize = 12;  // h2 and http/1.1, the first 12 bytes
constexpr const unsigned char* kOpaque = kProtocols + kHttpProtocolsSize;
constexpr size_t kOpaqueSize = sizeof(kProtocols) - kHttpProtocolsSize;
static_assert(kOpaqueSize == 1 + sizeof(kOpaqueProtocol) - 1);

int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kProtocols, sizeof(kProtocols), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void offerAlpn(SSL* ssl) { SSL_set_alpn_protos(ssl, kProtocols, kHttpProtocolsSize); }

void offerOpaque(SSL* ssl) { SSL_set_alpn_protos(ssl, kOpaque, kOpaqueSize); }

void selectAlpnOnAccept(SSL_CTX* ctx) { SSL_CTX_set_alpn_select_cb(ctx, &selectAlpn, nullptr); }

bool negotiatedHttp2(const SSL* ssl) {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl, &protocol, &length);
  return length == 2 && protocol[0] == 'h' && protocol[1] == '2';
}

bool negotiatedOpaque(const SSL* ssl) {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl, &protocol, &length);
  return std::string_view(reinterpret_cast<const char*>(protocol), length) == kOpaqueProtocol;
}

}  // namespace weft::identity
