package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Forwarded headers. A reverse proxy in front of allot says where the
// request really came from in them; anyone else could forge them, so they
// are honoured only from the addresses in Server.TrustedProxies and
// removed from every other request before a handler sees them (the
// surfaces read X-Forwarded-Proto for the links they write, web for its
// cookies' Secure flag).
const (
	headerForwardedFor   = "X-Forwarded-For"
	headerForwardedProto = "X-Forwarded-Proto"
	headerForwardedHost  = "X-Forwarded-Host"
)

// ParseProxies reads --trusted-proxy values: CIDR prefixes ("10.0.0.0/8")
// or single addresses ("127.0.0.1", "::1").
func ParseProxies(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR prefix (e.g. 10.0.0.0/8 or 127.0.0.1)", v)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// trusted reports whether addr is a trusted proxy.
func (s *Server) trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

type forwardedKey struct{}

// forwarded applies the forwarded headers of a request from a trusted
// proxy — RemoteAddr becomes the client X-Forwarded-For names (the
// rightmost address that is not itself a trusted proxy), Host the first
// X-Forwarded-Host, X-Forwarded-Proto its first value when it is http or
// https — and removes them from any other request. It runs once per
// request: the requests of a $batch share the outer request's context and
// its result.
func (s *Server) forwarded(r *http.Request) *http.Request {
	if r.Context().Value(forwardedKey{}) != nil {
		return r
	}
	h := r.Header
	peer, ok := remoteAddr(r.RemoteAddr)
	if !ok || !s.trusted(peer) {
		h.Del(headerForwardedFor)
		h.Del(headerForwardedProto)
		h.Del(headerForwardedHost)
		return r.WithContext(context.WithValue(r.Context(), forwardedKey{}, true))
	}
	if xff := h.Values(headerForwardedFor); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: keep the last address known good
			}
			r.RemoteAddr = netip.AddrPortFrom(a.Unmap(), 0).String()
			if !s.trusted(a) {
				break
			}
		}
	}
	if p := firstValue(h.Get(headerForwardedProto)); strings.EqualFold(p, "https") || strings.EqualFold(p, "http") {
		h.Set(headerForwardedProto, strings.ToLower(p))
	} else {
		h.Del(headerForwardedProto)
	}
	if host := firstValue(h.Get(headerForwardedHost)); host != "" && !strings.ContainsAny(host, "/ \\@") {
		r.Host = host
	}
	h.Del(headerForwardedHost)
	return r.WithContext(context.WithValue(r.Context(), forwardedKey{}, true))
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

func remoteAddr(s string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	return a, err == nil
}

// Scheme is "https" when the client reached allot over TLS, directly or
// through a trusted proxy that says so (X-Forwarded-Proto), else "http".
func Scheme(r *http.Request) string {
	if r.TLS != nil || r.Header.Get(headerForwardedProto) == "https" {
		return "https"
	}
	return "http"
}

// hsts is the Strict-Transport-Security of a response over HTTPS: a year,
// as Microsoft Graph answers.
const hsts = "max-age=31536000"
