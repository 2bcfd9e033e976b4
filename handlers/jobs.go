package handlers

import (
	"net/http"
	"sync"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/views"
	"github.com/labstack/echo/v4"
)

// jobRetention is how long a finished job's page stays available.
const jobRetention = time.Hour

// job is long work (a rotation) running in the background, followed by its page.
type job struct {
	mu       sync.Mutex
	view     views.JobView
	rotation swarm.Rotation // the latest state of the rotation the job runs
	owner    int64
	finished time.Time
	done     chan struct{}
}

func (j *job) snapshot() views.JobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := j.view
	v.Steps = append([]views.JobStep(nil), j.view.Steps...)
	return v
}

// rotationState returns the rotation as last reported.
func (j *job) rotationState() swarm.Rotation {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rotation
}

// update records a rotation's progress and applies it to the page.
func (j *job) update(r swarm.Rotation, fn func(*views.JobView)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotation = r
	fn(&j.view)
	if j.view.Done && j.finished.IsZero() {
		j.finished = time.Now()
		close(j.done)
	}
}

// jobRegistry keeps the jobs of this process by id.
type jobRegistry struct {
	mu   sync.Mutex
	jobs map[string]*job
}

func newJobRegistry() *jobRegistry { return &jobRegistry{jobs: map[string]*job{}} }

// start registers a job and returns it; finished jobs older than jobRetention are dropped.
func (r *jobRegistry) start(owner int64, title string) *job {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, j := range r.jobs {
		j.mu.Lock()
		old := !j.finished.IsZero() && time.Since(j.finished) > jobRetention
		j.mu.Unlock()
		if old {
			delete(r.jobs, id)
		}
	}
	id := randomToken()[:16]
	j := &job{view: views.JobView{ID: id, Title: title}, owner: owner, done: make(chan struct{})}
	r.jobs[id] = j
	return j
}

func (r *jobRegistry) get(id string) (*job, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j, ok := r.jobs[id]
	return j, ok
}

// jobFor finds a job for the current request.
func (h *Handlers) jobFor(c echo.Context) (*job, error) {
	j, ok := h.jobs.get(c.Param("id"))
	if !ok {
		return nil, echo.NewHTTPError(http.StatusNotFound, "No such job: it may have finished more than an hour ago, or Berth restarted.")
	}
	return j, nil
}

// JobPage follows a job.
func (h *Handlers) JobPage(c echo.Context) error {
	j, err := h.jobFor(c)
	if err != nil {
		return err
	}
	v := j.snapshot()
	p := h.page(c, v.Title, "")
	return h.render(c, http.StatusOK, p, views.JobPage(p, v))
}

// JobStatus is the job page's self-refreshing part.
func (h *Handlers) JobStatus(c echo.Context) error {
	j, err := h.jobFor(c)
	if err != nil {
		return err
	}
	return fragment(c, http.StatusOK, views.JobStatus(h.page(c, "", ""), j.snapshot()))
}
