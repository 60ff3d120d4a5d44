package m365

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the certificate's thumbprint as Entra shows it (SHA-1), not a security check
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"allot"
)

// The credentials a connection's app registration signs in with.
const (
	CredentialSecret      = "clientSecret" // a client secret
	CredentialCertificate = "certificate"  // a certificate (a client assertion signed with its private key)
	// CredentialWorkloadIdentity: the platform's federated token (a client
	// assertion read from the file AZURE_FEDERATED_TOKEN_FILE names).
	CredentialWorkloadIdentity = "workloadIdentity"
)

// FederatedTokenFileEnv names the file of the platform's federated token
// (set by Azure Kubernetes Service's workload identity webhook).
const FederatedTokenFileEnv = "AZURE_FEDERATED_TOKEN_FILE"

// maxCertificate bounds the certificate input (PEM text or base64 PFX).
const maxCertificate = 32 << 10

// Certificate is what a connection shows of its certificate: never the
// private key.
type Certificate struct {
	// Thumbprint is the SHA-1 thumbprint in upper-case hex, as the Entra
	// admin center lists an app registration's certificates.
	Thumbprint string    `json:"thumbprint"`
	Subject    string    `json:"subject"`
	NotBefore  time.Time `json:"notBeforeDateTime"`
	NotAfter   time.Time `json:"notAfterDateTime"`
}

// parseCertificate reads a certificate with its private key — PEM text
// (CERTIFICATE blocks with a PRIVATE KEY or RSA PRIVATE KEY block) or the
// standard base64 of a PKCS#12 (.pfx) file, opened with password — and
// returns it as PEM without a password (the certificates, the signing
// one first, then the key in PKCS#8): the text that is sealed. Entra signs
// in a certificate credential with an RSA key, so another key is refused,
// as is a key that matches none of the certificates.
func parseCertificate(text, password string) (pemText string, info Certificate, err error) {
	text = strings.TrimSpace(text)
	if len(text) > maxCertificate {
		return "", info, allot.Errorf(allot.EINVALID, "clientCertificate is longer than %d characters.", maxCertificate)
	}
	data := []byte(text)
	if !strings.Contains(text, "-----BEGIN") {
		b, derr := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if derr != nil {
			return "", info, allot.Errorf(allot.EINVALID, "clientCertificate must be PEM text (the certificate and its private key) or the base64 of a .pfx file.")
		}
		data = b
	}
	certs, key, perr := azidentity.ParseCertificates(data, []byte(password))
	if perr != nil {
		return "", info, allot.Errorf(allot.EINVALID, "clientCertificate does not read as a certificate with its private key (%s); a .pfx needs clientCertificatePassword when it has one.", perr.Error())
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return "", info, allot.Errorf(allot.EINVALID, "clientCertificate: the private key must be an RSA key (Microsoft Entra signs client assertions with RSA).")
	}
	var signer *x509.Certificate
	var others []*x509.Certificate
	for _, c := range certs {
		if pk, ok := c.PublicKey.(*rsa.PublicKey); ok && signer == nil && pk.E == rk.E && pk.N.Cmp(rk.N) == 0 {
			signer = c
		} else {
			others = append(others, c)
		}
	}
	if signer == nil {
		return "", info, allot.Errorf(allot.EINVALID, "clientCertificate: the private key matches none of its certificates.")
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		return "", info, allot.Errorf(allot.EINVALID, "clientCertificate: %v", err)
	}
	var out bytes.Buffer
	for _, c := range append([]*x509.Certificate{signer}, others...) {
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	_ = pem.Encode(&out, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return out.String(), certificateInfo(signer), nil
}

func certificateInfo(c *x509.Certificate) Certificate {
	sum := sha1.Sum(c.Raw) //nolint:gosec // a thumbprint, as Entra shows it
	return Certificate{Thumbprint: strings.ToUpper(hex.EncodeToString(sum[:])), Subject: c.Subject.String(),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
}

// credential returns the azidentity credential of a connection with its
// opened sealed value (a client secret, or the PEM of parseCertificate).
func credential(c *Connection, opened string, co azcore.ClientOptions, noDiscovery bool) (azcore.TokenCredential, error) {
	if c.Credential == CredentialWorkloadIdentity {
		file := os.Getenv(FederatedTokenFileEnv)
		if file == "" {
			return nil, allot.Errorf(allot.EUNAVAILABLE, "Connection %s signs in with the platform's workload identity, and this process has none: %s is not set (on Azure Kubernetes Service, enable workload identity for allot's pod).", c.ID, FederatedTokenFileEnv)
		}
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: co, TenantID: c.EntraTenantID, ClientID: c.ClientID, TokenFilePath: file, DisableInstanceDiscovery: noDiscovery})
	}
	if c.Credential == CredentialCertificate {
		certs, key, err := azidentity.ParseCertificates([]byte(opened), nil)
		if err != nil {
			return nil, allot.Errorf(allot.EINVALID, "The stored certificate of connection %s does not read: %v", c.ID, err)
		}
		return azidentity.NewClientCertificateCredential(c.EntraTenantID, c.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions: co, DisableInstanceDiscovery: noDiscovery, SendCertificateChain: c.SendCertificateChain})
	}
	return azidentity.NewClientSecretCredential(c.EntraTenantID, c.ClientID, opened, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: co, DisableInstanceDiscovery: noDiscovery})
}
