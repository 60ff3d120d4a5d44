//go:build unix

package server

import "syscall"

// MaxConns is how many connections allot serve holds open at once: the
// process's file descriptor limit less a reserve for the database, logs and
// the listener.
func MaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < 512 {
		return 256
	}
	return int(min(rl.Cur-256, 1<<16))
}
