#include "identity/alpn.h"

namespace weft::identity {
namespace {

// In wire format (length-prefixed), in order of preference.
constexpr unsigned char kProtocols[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

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

void offerAlpn(SSL* ssl) { SSL_set_alpn_protos(ssl, kProtocols, sizeof(kProtocols)); }

void selectAlpnOnAccept(SSL_CTX* ctx) { SSL_CTX_set_alpn_select_cb(ctx, &selectAlpn, nullptr); }

bool negotiatedHttp2(const SSL* ssl) {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl, &protocol, &length);
  return length == 2 && protocol[0] == 'h' && protocol[1] == '2';
}

}  // namespace weft::identity
