package postgres_test

import (
	"context"
	"testing"
	"time"

	"allot/store/postgres"
	"allot/store/storetest"
)

// ALLOT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//   go test ./store/postgres -run '^$' -bench . -benchtime 3s

func BenchmarkCommitSmall(b *testing.B)   { storetest.BenchCommitSmall(b, openStore(b)) }
func BenchmarkCommitBatch64(b *testing.B) { storetest.BenchCommitBatch64(b, openStore(b)) }
func BenchmarkCommitBulk(b *testing.B)    { storetest.BenchCommitBulk(b, openStore(b)) }

// The same commit carrying a tenant lease's fencing token (OpenShared).
func BenchmarkCommitSmallFenced(b *testing.B) {
	s, err := postgres.OpenShared(context.Background(), schemaURL(b), postgres.SharedOptions{TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchCommitSmallFenced(b, s)
}
