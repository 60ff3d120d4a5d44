package licensing

import (
	"math/bits"
	"slices"
)

// waitHeap is a pool's waiting room: an indexed binary min-heap of claims
// ordered by (Since, user id), so the oldest claim is admitted first and any
// claim can leave in O(log n).
type waitHeap []*license

func waitLess(a, b *license) bool {
	if !a.Since.Equal(b.Since) {
		return a.Since.Before(b.Since)
	}
	return a.userID() < b.userID()
}

func (h *waitHeap) push(l *license) {
	*h = append(*h, l)
	l.waitIdx = int32(len(*h) - 1)
	h.up(len(*h) - 1)
}

// pop removes and returns the oldest claim.
func (h *waitHeap) pop() *license {
	old := *h
	l := old[0]
	h.remove(0)
	return l
}

// remove takes the claim at index i out of the heap.
func (h *waitHeap) remove(i int) {
	old := *h
	n := len(old) - 1
	l := old[i]
	if i != n {
		old[i] = old[n]
		old[i].waitIdx = int32(i)
	}
	old[n] = nil
	*h = old[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	l.waitIdx = -1
}

func (h waitHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !waitLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		h[i].waitIdx, h[p].waitIdx = int32(i), int32(p)
		i = p
	}
}

func (h waitHeap) down(i int) bool {
	start := i
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && waitLess(h[r], h[l]) {
			m = r
		}
		if !waitLess(h[m], h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		h[i].waitIdx, h[m].waitIdx = int32(i), int32(m)
		i = m
	}
	return i > start
}

// heapify restores the heap order and every claim's index in O(n).
func (h waitHeap) heapify() {
	for i, l := range h {
		l.waitIdx = int32(i)
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// selectOldest reorders the claims so that the k oldest come first, in no
// particular order (0 <= k <= len(h)); the heap order and the indexes are
// not kept (call heapify on what stays). Expected O(n): quickselect with a
// median-of-three pivot, falling back to sorting a range that does not
// shrink fast enough.
func (h waitHeap) selectOldest(k int) {
	lo, hi := 0, len(h) // the k-th oldest lies in h[lo:hi]
	budget := 2 * bits.Len(uint(len(h)))
	for hi-lo > 12 {
		if budget == 0 {
			slices.SortFunc(h[lo:hi], waitCmp)
			return
		}
		budget--
		// Median of three to h[lo], then partition h[lo+1:hi] around it.
		mid := lo + (hi-lo)/2
		a, b, c := lo, mid, hi-1
		if waitLess(h[b], h[a]) {
			a, b = b, a
		}
		if waitLess(h[c], h[b]) {
			b = c
			if waitLess(h[b], h[a]) {
				b = a
			}
		}
		h[lo], h[b] = h[b], h[lo]
		pivot := h[lo]
		i, j := lo+1, hi-1
		for {
			for i <= j && waitLess(h[i], pivot) {
				i++
			}
			for i <= j && waitLess(pivot, h[j]) {
				j--
			}
			if i >= j {
				break
			}
			h[i], h[j] = h[j], h[i]
			i++
			j--
		}
		// h[lo+1:i] are older than the pivot, h[i:hi] younger (claims are
		// distinct: no two compare equal). Put the pivot between them.
		p := i - 1
		h[lo], h[p] = h[p], h[lo]
		switch {
		case k == p || k == p+1:
			return
		case k < p:
			hi = p
		default:
			lo = p + 1
		}
	}
	slices.SortFunc(h[lo:hi], waitCmp)
}

func waitCmp(a, b *license) int {
	if waitLess(a, b) {
		return -1
	}
	if waitLess(b, a) {
		return 1
	}
	return 0
}
