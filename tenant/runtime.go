package tenant

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot"
	"allot/catalog"
	"allot/internal/memtune"
	"allot/licensing"
	"allot/store"
)

// Options tune a Runtime.
type Options struct {
	// MaxBatch is the most commands committed in one transaction (default 256).
	MaxBatch int
	// Queue is each tenant's command queue length (default 1024).
	Queue int
	// Logger receives the runtime's logs (default slog.Default()).
	Logger *slog.Logger
	// Registerer receives the runtime's metrics (default: none).
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Recompute makes every load recompute the stored license records,
	// never adopt them (derivation.go): for a check of the stored state.
	Recompute bool
	// Background makes Open return once it has read the list of tenants:
	// they load in the background (see load.go) and are served as each
	// finishes; Wait waits for one, WaitLoaded for all. Without it Open
	// returns once every tenant is loaded, or fails if one cannot be (what
	// the CLI's commands need).
	Background bool
	// LoadConcurrency is how many tenants load at once (default 2). Each
	// load holds its tenant's records twice at its peak.
	LoadConcurrency int
	// IdleWriter is how long a tenant keeps its writer's copy of the state
	// after its last command (default 5 minutes; negative: for good). A
	// loaded tenant starts with one copy, the readers'; its first command
	// makes the writer's copy (a snapshot of the readers', about a second
	// at a million users), and a tenant not written for IdleWriter goes
	// back to one copy. So a process holds two copies only of the tenants
	// being written.
	IdleWriter time.Duration
	// Leases gates every tenant's writes when several processes share
	// the store (store.Leaser; lease.go); nil: this process is the only
	// writer of the database.
	Leases Leases
	// AfterCommit, if set, is called on a tenant's writer goroutine after
	// each batch is published to readers, with what the readers' copy
	// applied (d) and the committed change's mutations (objects: engine
	// records and the commands' object writes); d and objects are nil when
	// the copy was replaced instead (a bulk change published by swapping
	// the copies, or a rebuilt copy): then anything may have changed. It
	// runs while readers are locked out: it must return quickly and must
	// not keep d or objects (package alert queues the tenant for
	// evaluation).
	AfterCommit func(tenantID string, d *licensing.Delta, objects []store.Mutation)
	// Extensions are the tenant extensions the runtime keeps (typed state
	// of other packages, ExtensionType): a stored object of a kind one of
	// them declares loads into it; any other is a plain object. Ext
	// panics for an extension not listed here.
	Extensions []Extension
	// Indexes are the read models built on every readers' copy and kept
	// from each committed delta (Index); IndexOf panics for one not
	// listed here.
	Indexes []IndexDecl
	// Maintenance are the periodic tasks MaintainAt runs on every tenant,
	// in this order.
	Maintenance []MaintenanceTask
}

// Runtime owns the loaded tenants of one process.
type Runtime struct {
	store   store.Store
	cat     *catalog.Catalog
	deriv   derivation // the catalog's fingerprint for the derivation stamp (derivation.go)
	opts    Options
	reg     *registry
	log     *slog.Logger
	metrics metrics
	follow  followMetrics // follow.go

	mu      sync.RWMutex
	tenants map[string]*Tenant

	closeMu sync.RWMutex
	closing bool

	health writeHealth

	// The start-up load (load.go). loadCtx ends when the runtime closes.
	loadCtx    context.Context
	cancelLoad context.CancelFunc
	load       loadProgress
}

type metrics struct {
	commands      prometheus.Counter
	batchSize     prometheus.Histogram
	commitSeconds prometheus.Histogram
	applySeconds  prometheus.Histogram
	// readOnly counts the tenants served read-only, problems their
	// inconsistent stored records (see Problem).
	readOnly prometheus.Gauge
	problems prometheus.Gauge
	// loading counts the tenants still loading, failed those whose load
	// failed (served as 503 until a restart loads them).
	loading prometheus.Gauge
	failed  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		commands: prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_commands_total", Help: "Commands committed."}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "allot_commit_batch_size", Help: "Commands per committed batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "allot_commit_seconds", Help: "Time to make a batch durable.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		applySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "allot_batch_seconds", Help: "Time from batch start to acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		readOnly: prometheus.NewGauge(prometheus.GaugeOpts{Name: "allot_tenants_read_only", Help: "Tenants served read-only because their stored state is inconsistent (allot doctor repairs it)."}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{Name: "allot_stored_inconsistencies", Help: "Inconsistent stored records found when the tenants were loaded."}),
		loading:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "allot_tenants_loading", Help: "Tenants still loading at start-up (requests for them wait, then answer 503)."}),
		failed:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "allot_tenants_failed", Help: "Tenants that could not be loaded (they answer 503; the others are served)."}),
	}
	if reg != nil {
		reg.MustRegister(m.commands, m.batchSize, m.commitSeconds, m.applySeconds, m.readOnly, m.problems, m.loading, m.failed)
	}
	return m
}

// Open reads the store's list of tenants and loads them, LoadConcurrency
// at a time, in id order. Without Options.Background it returns once every
// tenant is loaded, or the first load's error (in id order) after stopping
// the others. With it, it returns at once: Get finds a tenant once it is
// loaded, Wait waits for one, List has them all (loading or not).
func Open(ctx context.Context, st store.Store, cat *catalog.Catalog, opts Options) (*Runtime, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Queue <= 0 {
		opts.Queue = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdleWriter == 0 {
		opts.IdleWriter = 5 * time.Minute
	}
	if opts.LoadConcurrency <= 0 {
		opts.LoadConcurrency = 2
	}
	reg, err := newRegistry(opts)
	if err != nil {
		return nil, err
	}
	r := &Runtime{store: st, cat: cat, opts: opts, reg: reg, log: opts.Logger, metrics: newMetrics(opts.Registerer), follow: newFollowMetrics(opts.Registerer), tenants: map[string]*Tenant{}}
	// Loads outlive Open's context when they run in the background; Close
	// ends them.
	r.loadCtx, r.cancelLoad = context.WithCancel(context.WithoutCancel(ctx))
	infos, err := st.ListTenants(ctx)
	if err != nil {
		r.cancelLoad()
		return nil, fmt.Errorf("listing tenants: %w", err)
	}
	r.startLoading(infos)
	if !opts.Background {
		if err := r.WaitLoaded(ctx); err != nil {
			_ = r.Close(context.Background())
			return nil, err
		}
	}
	return r, nil
}

func (r *Runtime) now() time.Time { return r.opts.Now().UTC() }

// Now is the runtime's clock (Options.Now, in UTC): the time of every
// command whose Op has none, and the "now" every surface uses.
func (r *Runtime) Now() time.Time { return r.now() }

// Catalog returns the runtime's base catalog.
func (r *Runtime) Catalog() *catalog.Catalog { return r.cat }

// Store returns the store (for reads that are not tenant state: audit, tokens).
func (r *Runtime) Store() store.Store { return r.store }

// newTenant is a tenant not loaded yet.
func (r *Runtime) newTenant(info store.Tenant) *Tenant {
	return &Tenant{ID: info.ID, rt: r, info: info, cmds: make(chan *command, r.opts.Queue),
		stopped: make(chan struct{}), loaded: make(chan struct{}), since: time.Now()}
}

// start loads a new tenant's state and starts its writer; t is served (Get)
// once start returns nil. On error nothing is started.
func (r *Runtime) start(ctx context.Context, t *Tenant) error {
	// Both copies start at the same engine clock (the clone keeps it), so
	// that a command whose time is older than the load runs at the same
	// time on both.
	now := r.now()
	w, seq, problems, err := r.loadStateAt(ctx, t.ID, now)
	if err != nil {
		return err
	}
	// The loaded state is the readers' copy; the writer's is made from it
	// by the first command (catchUp), so a tenant that is only read holds
	// one copy.
	w.buildIndexes() // read models exist before the first reader comes
	t.mu.Lock()
	t.reader = w
	t.mu.Unlock()
	t.seq, t.behind = seq, true
	if len(problems) > 0 {
		r.log.Error("tenant served read-only: its stored state is inconsistent; run allot doctor", "tenant", t.ID,
			"problems", len(problems), "first", problems[0].String())
	}
	t.setProblems(problems)
	go t.run()
	t.serving.Store(true)
	close(t.loaded)
	memtune.AfterLoad(w.Engine.UserCount())
	return nil
}

// Create stores a new tenant with its licensing settings and starts it.
// ECONFLICT if the id exists. The tenant's first command sets the settings
// and then runs init, if given (e.g. the tenant's first domain); its audit
// entries name the actor "partner" (CreateBy names the caller).
func (r *Runtime) Create(ctx context.Context, info store.Tenant, settings licensing.Settings, init ...func(*Tx) error) (*Tenant, error) {
	return r.CreateBy(ctx, "partner", info, settings, init...)
}

// CreateBy is Create with the actor its first command is audited under
// (the partner API passes its principal, as every later call does).
func (r *Runtime) CreateBy(ctx context.Context, actor string, info store.Tenant, settings licensing.Settings, init ...func(*Tx) error) (*Tenant, error) {
	if info.CreatedAt.IsZero() {
		info.CreatedAt = r.now()
	}
	if err := r.noteStoreWrite(r.store.CreateTenant(ctx, info)); err != nil {
		if errorsIs(err, store.ErrConflict) {
			return nil, allot.Errorf(allot.ECONFLICT, "A tenant with id %s already exists.", info.ID)
		}
		return nil, err
	}
	t := r.newTenant(info)
	if err := r.start(ctx, t); err != nil {
		return nil, err
	}
	if t = r.register(t); !t.serving.Load() { // a follower adopted it meanwhile: follow.go
		if _, err := r.Wait(ctx, t.ID); err != nil {
			return nil, err
		}
	}
	err := t.Do(ctx, licensing.Op{Actor: actor, Now: info.CreatedAt}, func(tx *Tx) error {
		if err := tx.Engine.SetSettings(tx.Op, settings); err != nil {
			return err
		}
		for _, fn := range init {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	return t, err
}

// UpdateInfo replaces a tenant's record (company name, domain, …).
// A tenant still loading is waited for while ctx lasts (see Wait).
func (r *Runtime) UpdateInfo(ctx context.Context, info store.Tenant) error {
	t, err := r.Wait(ctx, info.ID)
	if err != nil {
		return err
	}
	if err := r.noteStoreWrite(r.store.UpdateTenant(ctx, info)); err != nil {
		return err
	}
	t.mu.Lock()
	t.info, t.infoSet = info, time.Now()
	t.mu.Unlock()
	return nil
}

// Delete deletes a tenant with everything it has (objects, audit log,
// tokens) if check, given the tenant's last committed state, returns nil;
// check's error refuses the deletion and changes nothing. It runs in the
// tenant's writer between batches, so no command commits after the check.
// ENOTFOUND if the tenant does not exist; a tenant still loading is waited
// for while ctx lasts, and one that failed to load cannot be checked, so is
// not deleted (see Wait).
func (r *Runtime) Delete(ctx context.Context, id string, check func(*State) error) error {
	t, err := r.Wait(ctx, id)
	if err != nil {
		return err
	}
	return t.do(ctx, &command{drop: check})
}

// Get returns a tenant that is loaded and served. A tenant still loading,
// or whose load failed, is not returned: Wait waits for it and says which.
func (r *Runtime) Get(id string) (*Tenant, bool) {
	t := r.lookup(id)
	if t == nil || !t.serving.Load() {
		return nil, false
	}
	return t, true
}

// lookup returns the runtime's tenant of that id, loaded or not, or nil.
func (r *Runtime) lookup(id string) *Tenant {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tenants[strings.ToLower(id)]
	if !ok {
		t = r.tenants[id]
	}
	return t
}

// List returns every tenant's record, by id: those still loading and those
// whose load failed included.
func (r *Runtime) List() []store.Tenant {
	r.mu.RLock()
	out := make([]store.Tenant, 0, len(r.tenants))
	for _, t := range r.tenants {
		out = append(out, t.Info())
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Close stops accepting commands, lets every queued command finish and
// commit, and stops the writers. It does not close the store.
// Loads still running are cancelled (their tenants fail with ErrClosed).
// Closing again only waits.
func (r *Runtime) Close(ctx context.Context) error {
	r.closeMu.Lock()
	again := r.closing
	r.closing = true
	r.closeMu.Unlock()
	r.cancelLoad()
	r.mu.RLock()
	ts := make([]*Tenant, 0, len(r.tenants))
	for _, t := range r.tenants {
		ts = append(ts, t)
	}
	r.mu.RUnlock()
	if !again { // a second Close only waits
		for _, t := range ts {
			close(t.cmds)
		}
	}
	for _, t := range ts {
		select {
		case <-t.stopped:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// loadState builds one copy of a tenant's state from the store and returns
// it with the tenant's last audit sequence number and the problems of its
// stored state (see Problem). If the stored license state is not what a
// full recompute gives (a crash can't cause that, but an older version or a
// hand edit can), the repair is committed first, so that memory is never
// ahead of the store. A tenant with problems is not repaired: its state is
// what loads, for reading only.
func (r *Runtime) loadState(ctx context.Context, tenantID string) (*State, int64, []Problem, error) {
	return r.loadStateAt(ctx, tenantID, r.now())
}

// loadStateAt is loadState with the time of the load's recompute.
func (r *Runtime) loadStateAt(ctx context.Context, tenantID string, now time.Time) (*State, int64, []Problem, error) {
	return r.loadStateFenced(ctx, tenantID, now, 0)
}

// loadStateFenced is loadStateAt for a process that shares the store
// (Options.Leases) and holds the tenant's lease with token fence (0: it
// does not, and keeps a repair in memory like a read-only store).
func (r *Runtime) loadStateFenced(ctx context.Context, tenantID string, now time.Time, fence int64) (*State, int64, []Problem, error) {
	st, seq, problems, err := r.buildState(ctx, tenantID, now)
	if err != nil {
		return nil, 0, nil, err
	}
	d := st.Engine.TakeDelta()
	if len(problems) > 0 {
		return st, seq, problems, nil
	}
	// A read-only store (a CLI export beside a running server) keeps the
	// repair in memory: the owner of the database stores it.
	// A recomputed tenant is stamped (derivation.go), with the repair if
	// there is one, so that the next load adopts its records.
	repair := len(d.Licenses) > 0 || len(d.Audit) > 0
	if (repair || (!st.adopted && st.logSeq >= 0)) && !store.IsReadOnly(r.store) && (r.opts.Leases == nil || fence != 0) {
		t := &Tenant{ID: tenantID, rt: r, writer: st, seq: seq, fence: fence}
		change, err := t.serialize(d, nil, nil, true)
		if err != nil {
			return nil, 0, nil, err
		}
		if len(change.Mutations) == 0 && st.logSeq >= 0 {
			change.Mutations = append(change.Mutations, r.stampMutation(st.logSeq+1))
		}
		cs := []store.Change{change}
		if err := r.store.Commit(ctx, cs); err != nil {
			return nil, 0, nil, fmt.Errorf("committing the start-up repair: %w", err)
		}
		if cs[0].Seq > 0 {
			st.logSeq = cs[0].Seq
		}
		if repair {
			r.log.Warn("stored license state repaired at load", "tenant", tenantID, "licenses", len(d.Licenses))
		}
		seq = t.seq
	}
	return st, seq, nil, nil
}
