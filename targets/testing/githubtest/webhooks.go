package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Delivery is one webhook delivery, as GitHub's "Recent Deliveries" shows it.
type Delivery struct {
	ID          string // X-GitHub-Delivery
	Event       string // X-GitHub-Event: "push"
	URL         string
	ContentType string // application/json, or application/x-www-form-urlencoded for a form webhook
	Body        []byte // as sent
	Status      int    // the receiver's status code; 0 when the request failed
	Err         error  // why the request failed
}

type webhook struct {
	url, secret string
	form        bool // content type form: the JSON in a payload field
}

// WebhookEvents lists the webhook events the emulator sends: exactly those
// testdata/api.github.com.json keeps (x-webhooks), whose payload schemas every delivery is
// checked against.
func WebhookEvents() []string { return []string{"push"} }

// hookQueue delivers webhooks one at a time, in the order the events happened, outside
// the server's lock (a receiver may call the API back).
type hookQueue struct {
	mu         sync.Mutex
	cond       *sync.Cond
	hooks      []webhook
	queue      []*Delivery
	secrets    map[*Delivery]string
	forms      map[*Delivery]bool
	busy       bool
	done       []Delivery
	stopped    bool
	workerDone chan struct{}
	client     *http.Client
}

func newHookQueue() *hookQueue {
	q := &hookQueue{secrets: map[*Delivery]string{}, forms: map[*Delivery]bool{}, workerDone: make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second}}
	q.cond = sync.NewCond(&q.mu)
	go q.run()
	return q
}

func (q *hookQueue) run() {
	defer close(q.workerDone)
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for len(q.queue) == 0 && !q.stopped {
			q.cond.Wait()
		}
		if q.stopped {
			return
		}
		d := q.queue[0]
		q.queue = q.queue[1:]
		secret := q.secrets[d]
		delete(q.secrets, d)
		if q.forms[d] {
			// GitHub's form content type: the event is the payload field, and the
			// signatures cover the body as sent.
			d.Body = []byte(url.Values{"payload": {string(d.Body)}}.Encode())
			d.ContentType = "application/x-www-form-urlencoded"
		}
		delete(q.forms, d)
		q.busy = true
		q.mu.Unlock()
		q.send(d, secret)
		q.mu.Lock()
		q.busy = false
		q.done = append(q.done, *d)
		q.cond.Broadcast()
	}
}

func (q *hookQueue) send(d *Delivery, secret string) {
	req, err := http.NewRequest("POST", d.URL, bytes.NewReader(d.Body))
	if err != nil {
		d.Err = err
		return
	}
	h := req.Header
	h.Set("Content-Type", d.ContentType)
	h.Set("User-Agent", "GitHub-Hookshot/githubtest")
	h.Set("X-GitHub-Event", d.Event)
	h.Set("X-GitHub-Delivery", d.ID)
	h.Set("X-GitHub-Hook-ID", "1")
	if secret != "" {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(d.Body)
		h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		m1 := hmac.New(sha1.New, []byte(secret))
		m1.Write(d.Body)
		h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m1.Sum(nil)))
	}
	resp, err := q.client.Do(req)
	if err != nil {
		d.Err = err
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d.Status = resp.StatusCode
}

// enqueue sends the event's payload (JSON) to every webhook.
func (q *hookQueue) enqueue(event string, body []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, h := range q.hooks {
		d := &Delivery{ID: deliveryID(), Event: event, URL: h.url, Body: body, ContentType: "application/json"}
		q.secrets[d] = h.secret
		q.forms[d] = h.form
		q.queue = append(q.queue, d)
	}
	q.cond.Broadcast()
}

func (q *hookQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.cond.Broadcast()
	q.mu.Unlock()
	<-q.workerDone
}

// deliveryID is a GUID as GitHub puts in X-GitHub-Delivery.
func deliveryID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// AddWebhook makes every later push event (a merge through the API, or a push the test
// reports with NotifyPush) POST to url, signed with secret in X-Hub-Signature-256 (and the
// legacy X-Hub-Signature) when secret is not empty. Deliveries are made in order, one at
// a time, in the background; WaitWebhooks waits for them.
func (s *Server) AddWebhook(hookURL, secret string) {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	q.hooks = append(q.hooks, webhook{url: hookURL, secret: secret})
}

// AddFormWebhook is AddWebhook with GitHub's default content type, form: the body is
// application/x-www-form-urlencoded with the event's JSON in its payload field, and the
// signatures cover that body.
func (s *Server) AddFormWebhook(hookURL, secret string) {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	q.hooks = append(q.hooks, webhook{url: hookURL, secret: secret, form: true})
}

// WaitWebhooks blocks until every queued delivery has been made.
func (s *Server) WaitWebhooks() {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	for (len(q.queue) > 0 || q.busy) && !q.stopped {
		q.cond.Wait()
	}
}

// Deliveries lists the webhook deliveries made so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Delivery(nil), q.done...)
}

// NotifyPush tells the server that the test pushed to branch of git repository repoName
// (or deleted it), so that webhooks receive the push event GitHub would send. The event's
// before is the tip last reported (or seen when the repository was added).
func (s *Server) NotifyPush(repoName, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gitRepos[key(repoName)]
	if g == nil {
		panic("githubtest: no git repository " + repoName)
	}
	s.pushEventLocked(g, branch, g.tips()[branch], s.identityLocked(key(s.opts.Login)))
}

// pushEventLocked queues a push event for branch moving to after ("" = deleted) and
// remembers after as the branch's reported tip.
func (s *Server) pushEventLocked(g *gitRepo, branch, after string, pusher *user) {
	before := g.pushed[branch]
	if before == "" {
		before = zeroSHA
	}
	if after == "" {
		after = zeroSHA
		delete(g.pushed, branch)
	} else {
		g.pushed[branch] = after
	}
	full := s.opts.Org + "/" + g.repo.Name
	web := s.webURL()
	// The repository as webhooks give it: the web URL as url, times as epoch seconds.
	repo := s.repoJSON(s.hookRequest(), g.repo)
	repo["url"], repo["created_at"], repo["pushed_at"], repo["topics"] = web+"/"+full, int64(0), s.now().Unix(), []string{}
	owner := s.orgOwnerJSON(s.hookRequest())
	owner["name"], owner["email"] = s.opts.Org, nil
	repo["owner"] = owner
	payload := map[string]any{
		"ref": "refs/heads/" + branch, "before": before, "after": after,
		"created": before == zeroSHA, "deleted": after == zeroSHA, "forced": false, "base_ref": nil,
		"compare": fmt.Sprintf("%s/%s/compare/%s...%s", web, full, before[:12], after[:12]),
		"commits": []any{}, "head_commit": nil, "repository": repo,
		"pusher":       map[string]any{"name": pusher.Login, "email": pusher.Login + "@users.noreply.github.com"},
		"sender":       s.userJSON(s.hookRequest(), pusher),
		"organization": s.orgSimpleJSON(s.hookRequest()),
	}
	if after != zeroSHA {
		payload["head_commit"] = g.commitJSON(after, web+"/"+full)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		panic("githubtest: webhook payload: " + err.Error())
	}
	s.checkWebhook("push", body)
	s.hooks.enqueue("push", body)
}

// hookRequest stands for a request to the API root, for building the API URLs a webhook
// payload holds.
func (s *Server) hookRequest() *http.Request {
	r, _ := http.NewRequest("GET", s.srv.URL+"/", nil)
	return r
}

// commitJSON is a commit as a push event's head_commit gives it.
func (g *gitRepo) commitJSON(sha, repoWeb string) map[string]any {
	out := mustGit(g.dir, "log", "-1", "--format=%T%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%B", sha)
	f := strings.SplitN(out, "\x00", 7)
	for len(f) < 7 {
		f = append(f, "")
	}
	ts, err := time.Parse(time.RFC3339, f[5])
	if err != nil {
		ts = time.Unix(0, 0)
	}
	return map[string]any{"id": sha, "tree_id": f[0], "distinct": true, "message": strings.TrimSpace(f[6]),
		"timestamp": ts.Format(time.RFC3339), "url": repoWeb + "/commit/" + sha,
		"author":    map[string]any{"name": f[1], "email": f[2]},
		"committer": map[string]any{"name": f[3], "email": f[4]},
		"added":     []string{}, "removed": []string{}, "modified": []string{}}
}
