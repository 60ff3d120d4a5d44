package m365

import "github.com/prometheus/client_golang/prometheus"

// The process's Graph metrics (RegisterMetrics exposes them).
var (
	requestsTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_m365_graph_requests_total",
		Help: "HTTP requests sent to Microsoft Graph by connections."})
	throttledTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_m365_graph_throttled_total",
		Help: "Answers 429 or 503 from Microsoft Graph (each waited out by its Retry-After)."})
	lostAnswersTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_m365_graph_lost_answers_total",
		Help: "GETs to Microsoft Graph sent again because their answer was lost (connection failed or broke in the body)."})
	throttleWaitSeconds = prometheus.NewCounter(prometheus.CounterOpts{Name: "allot_m365_graph_throttle_wait_seconds_total",
		Help: "Time spent waiting for Microsoft Graph's Retry-After."})
	syncObjects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "allot_m365_sync_objects_total",
		Help: "Directory objects read from Microsoft Graph by syncs, by kind."}, []string{"kind"})
	syncsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "allot_m365_syncs_total",
		Help: "Finished syncs by kind (full, delta) and result (ok, error)."}, []string{"kind", "result"})
)

// RegisterMetrics registers the package's metrics (once per registry).
func RegisterMetrics(reg prometheus.Registerer) {
	for _, c := range []prometheus.Collector{requestsTotal, throttledTotal, lostAnswersTotal, throttleWaitSeconds, syncObjects, syncsTotal} {
		_ = reg.Register(c)
	}
}
