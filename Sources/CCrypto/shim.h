#ifndef CCRYPTO_SHIM_H
#define CCRYPTO_SHIM_H
// The system's libcrypto (OpenSSL 3, installed with libssl-dev, which libgrpc-dev depends on):
// AES-256-GCM for the payload encryption codec, SHA-256, and random bytes.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#endif
