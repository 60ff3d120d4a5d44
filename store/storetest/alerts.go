package storetest

import (
	"fmt"
	"testing"
	"time"

	"allot/store"
)

// testFinishAttempts: the outcomes of several delivery attempts are
// stored in one call — each job's new state, each attempt in its
// endpoint's log in order — and a job that does not exist is skipped
// without failing the others or logging its attempt.
func testFinishAttempts(t *testing.T, open func(*testing.T) store.Store) {
	as, ok := store.AlertsOf(open(t))
	if !ok {
		t.Skip("the store keeps no alerts")
	}
	job := func(id, ep string) store.AlertJob {
		return store.AlertJob{TenantID: "t1", ID: id, EndpointID: ep, Payload: []byte(`{"id":"` + id + `"}`), State: store.JobPending,
			RunAt: base, CreatedAt: base, UpdatedAt: base}
	}
	jobs := []store.AlertJob{job("j1", "ops"), job("j2", "ops"), job("j3", "mail")}
	if err := as.RecordAlerts(ctx(t), nil, jobs); err != nil {
		t.Fatal(err)
	}
	later := base.Add(time.Minute)
	var done []store.FinishedAttempt
	for i, j := range append(jobs, job("gone", "ops")) {
		j.Attempts, j.UpdatedAt = 1, later
		a := store.AlertAttempt{TenantID: "t1", EndpointID: j.EndpointID, JobID: j.ID, At: later, Attempt: 1, Millis: int64(i)}
		if i == 1 {
			j.State, j.LastError, j.RunAt = store.JobPending, "refused", later.Add(30*time.Second)
			a.Error = "refused"
		} else {
			j.State = store.JobDone
			a.OK, a.Status = true, 200
		}
		done = append(done, store.FinishedAttempt{Job: j, Attempt: a})
	}
	if err := as.FinishAttempts(ctx(t), done); err != nil {
		t.Fatalf("FinishAttempts with a job that does not exist: %v", err)
	}
	if err := as.FinishAttempts(ctx(t), nil); err != nil {
		t.Fatalf("FinishAttempts of nothing: %v", err)
	}
	got, err := as.AlertJobs(ctx(t), "t1", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, j := range got {
		states[j.ID] = fmt.Sprintf("%s %d %q %v", j.State, j.Attempts, j.LastError, j.UpdatedAt.Equal(us(later)))
	}
	want := map[string]string{"j1": `done 1 "" true`, "j2": `pending 1 "refused" true`, "j3": `done 1 "" true`}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Fatalf("jobs after FinishAttempts: %v, want %v", states, want)
	}
	if due, err := as.DueAlertJobs(ctx(t), later.Add(30*time.Second), 10); err != nil || len(due) != 1 || due[0].ID != "j2" {
		t.Fatalf("due after the retry time: %v, %v; want j2", due, err)
	}
	for ep, ids := range map[string]string{"ops": "[j2 j1]", "mail": "[j3]"} {
		log, err := as.AlertAttempts(ctx(t), "t1", ep, 10)
		if err != nil {
			t.Fatal(err)
		}
		var l []string
		for _, a := range log {
			l = append(l, a.JobID)
		}
		if fmt.Sprint(l) != ids {
			t.Fatalf("log of %s: %v, want %s (newest first; nothing for the job that does not exist)", ep, l, ids)
		}
	}
}
