//go:build !unix

package server

// MaxConns is how many connections allot serve holds open at once.
func MaxConns() int { return 4096 }
