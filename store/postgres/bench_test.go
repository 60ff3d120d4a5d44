package postgres_test

import (
	"testing"

	"allot/store/storetest"
)

// ALLOT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//   go test ./store/postgres -run '^$' -bench . -benchtime 3s

func BenchmarkCommitSmall(b *testing.B)   { storetest.BenchCommitSmall(b, openStore(b)) }
func BenchmarkCommitBatch64(b *testing.B) { storetest.BenchCommitBatch64(b, openStore(b)) }
func BenchmarkCommitBulk(b *testing.B)    { storetest.BenchCommitBulk(b, openStore(b)) }
