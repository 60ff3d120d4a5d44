package positionapi

// Computed is the number of positions the API computed so far.
func Computed() int64 { return computed.Load() }

// ForgetPosition drops the position kept for what-ifs.
func ForgetPosition() {
	lastPosition.mu.Lock()
	lastPosition.p, lastPosition.t = nil, nil
	lastPosition.mu.Unlock()
}
