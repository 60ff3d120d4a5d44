package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// tlsOptions are serve's HTTPS flags.
type tlsOptions struct {
	cert, key  string
	selfSigned bool
}

func (o tlsOptions) enabled() bool { return o.cert != "" || o.key != "" || o.selfSigned }

// config loads the certificate (or makes a self-signed one) before the
// server listens, so a bad file is an error at start-up, not at the first
// handshake. fingerprint is the SHA-256 of the leaf certificate, as
// browsers show it.
func (o tlsOptions) config(now time.Time) (cfg *tls.Config, fingerprint string, err error) {
	var cert tls.Certificate
	switch {
	case o.selfSigned && (o.cert != "" || o.key != ""):
		return nil, "", fmt.Errorf("--tls-self-signed makes its own certificate: pass it alone, or --tls-cert and --tls-key without it")
	case o.selfSigned:
		cert, err = selfSignedCert(now)
		if err != nil {
			return nil, "", err
		}
	case o.cert == "" || o.key == "":
		return nil, "", fmt.Errorf("--tls-cert and --tls-key go together: pass both (PEM files), or --tls-self-signed for a local trial")
	default:
		cert, err = tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, "", fmt.Errorf("reading the TLS certificate %s and key %s: %w", o.cert, o.key, err)
		}
	}
	if len(cert.Certificate) == 0 {
		return nil, "", fmt.Errorf("the TLS certificate file %s holds no certificate", o.cert)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, certFingerprint(cert.Certificate[0]), nil
}

// selfSignedCert makes an ECDSA P-256 certificate for localhost, 127.0.0.1
// and ::1, valid for 90 days from now: for a first local run, never for
// production (clients must be told to trust it, or its fingerprint).
func selfSignedCert(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"allot (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// certFingerprint is the SHA-256 of a DER certificate in colon-separated
// hex ("AB:CD:…"), the form browsers and openssl x509 -fingerprint show.
func certFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
