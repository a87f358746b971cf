// Command taskqueuecheck runs Google's Go pull-queue examples and their error cases
// (google.golang.org/appengine/taskqueue) against the task queue emulator and prints what
// happened, one JSON object per scenario and line:
//
//	{"context":"background","scenario":"example","ok":true,"details":{...}}
//
// "ok" says the scenario ran to its end; "details" holds every observation (tasks, errors,
// statistics) for tests/test_go_taskqueue.py to check. Errors are described precisely:
// taskqueue.ErrTaskAlreadyAdded, appengine.MultiError (element by element), and the
// Service/Code/Detail of *internal.APIError and *internal.CallError (read with reflect: a
// program cannot import google.golang.org/appengine/internal).
//
// Modes:
//
//	taskqueuecheck -mode background   every scenario in appengine.BackgroundContext(), to stdout
//	taskqueuecheck -mode serve        appengine.Main(); GET /run runs them in a request context
//	                                  (appengine.NewContext(r)); GET /log writes one line per
//	                                  log level with google.golang.org/appengine/log
//
// -only a,b (or /run?only=a,b) runs a subset. The program needs the variables of a
// second-generation runtime (API_HOST, API_PORT, GAE_ENV=standard, GOOGLE_CLOUD_PROJECT,
// GAE_SERVICE, GAE_VERSION, GAE_DEPLOYMENT_ID, GAE_INSTANCE; PORT for serve) and an emulator
// started with tests/go/queue.yaml and --enable-test-control: scenarios move the emulator's
// clock forward through /_emulator/clock instead of sleeping.
//
// Build in GOPATH mode with Debian's golang-google-appengine-dev:
//
//	GO111MODULE=off GOPATH=$PWD/tests/go:/usr/share/gocode go build taskqueuecheck
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"

	"google.golang.org/appengine"
	aelog "google.golang.org/appengine/log"
	"google.golang.org/appengine/taskqueue"
)

// result is one output line.
type result struct {
	Context  string                 `json:"context"`
	Scenario string                 `json:"scenario"`
	OK       bool                   `json:"ok"`
	Error    string                 `json:"error,omitempty"`
	Details  map[string]interface{} `json:"details"`
}

// run is the state of one scenario: its context, the emulator's control endpoints and the
// observations recorded so far.
type run struct {
	ctx     context.Context
	emu     *emulator
	details map[string]interface{}
}

// failure aborts a scenario (an unexpected error); runScenario turns it into ok=false.
type failure struct{ message string }

func (r *run) record(key string, value interface{}) { r.details[key] = value }

// must aborts the scenario if err is not nil: the step was expected to succeed.
func (r *run) must(step string, err error) {
	if err != nil {
		panic(failure{fmt.Sprintf("%s: %v", step, err)})
	}
}

func runScenario(ctx context.Context, label string, sc scenario, emu *emulator) (res result) {
	r := &run{ctx: ctx, emu: emu, details: map[string]interface{}{}}
	res = result{Context: label, Scenario: sc.name, Details: r.details}
	defer func() {
		switch x := recover().(type) {
		case nil:
			res.OK = true
		case failure:
			res.Error = x.message
		default:
			res.Error = fmt.Sprintf("panic: %v", x)
		}
	}()
	sc.run(r)
	return res
}

func selected(only string) []scenario {
	if only == "" {
		return scenarios
	}
	want := map[string]bool{}
	for _, name := range strings.Split(only, ",") {
		want[strings.TrimSpace(name)] = true
	}
	var out []scenario
	for _, sc := range scenarios {
		if want[sc.name] {
			out = append(out, sc)
		}
	}
	return out
}

func runAll(ctx context.Context, label, only string, out io.Writer) {
	emu := newEmulator()
	enc := json.NewEncoder(out)
	for _, sc := range selected(only) {
		if err := enc.Encode(runScenario(ctx, label, sc, emu)); err != nil {
			fmt.Fprintf(os.Stderr, "taskqueuecheck: cannot write a result: %v\n", err)
		}
	}
}

// -- descriptions ---------------------------------------------------------------------------

func usec(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano() / 1e3
}

func describeTask(t *taskqueue.Task) map[string]interface{} {
	if t == nil {
		return nil
	}
	return map[string]interface{}{
		"name":        t.Name,
		"payload":     string(t.Payload),
		"method":      t.Method,
		"tag":         t.Tag,
		"retry_count": t.RetryCount,
		"eta_usec":    usec(t.ETA),
	}
}

func describeTasks(tasks []*taskqueue.Task) []interface{} {
	out := []interface{}{}
	for _, t := range tasks {
		out = append(out, describeTask(t))
	}
	return out
}

func describeStats(stats []taskqueue.QueueStatistics) []interface{} {
	out := []interface{}{}
	for _, s := range stats {
		out = append(out, map[string]interface{}{
			"tasks":            s.Tasks,
			"oldest_eta_usec":  usec(s.OldestETA),
			"executed_1minute": s.Executed1Minute,
			"in_flight":        s.InFlight,
			"enforced_rate":    s.EnforcedRate,
		})
	}
	return out
}

// describe says exactly which error err is (nil for none).
func describe(err error) interface{} {
	if err == nil {
		return nil
	}
	if err == taskqueue.ErrTaskAlreadyAdded {
		return map[string]interface{}{"type": "ErrTaskAlreadyAdded"}
	}
	if me, ok := err.(appengine.MultiError); ok {
		errs := []interface{}{}
		for _, e := range me {
			errs = append(errs, describe(e))
		}
		return map[string]interface{}{"type": "MultiError", "errors": errs}
	}
	typeName := fmt.Sprintf("%T", err)
	out := map[string]interface{}{"type": typeName, "message": err.Error()}
	if typeName == "*internal.APIError" || typeName == "*internal.CallError" {
		fields := reflect.ValueOf(err).Elem()
		out["type"] = strings.TrimPrefix(typeName, "*internal.")
		out["code"] = fields.FieldByName("Code").Int()
		out["detail"] = fields.FieldByName("Detail").String()
		if service := fields.FieldByName("Service"); service.IsValid() {
			out["service"] = service.String()
		}
	}
	return out
}

// -- the emulator's test-control endpoints -----------------------------------------------------

// emulator reads and moves the emulator's clock (/_emulator/clock) and arms faults
// (/_emulator/faults), both with --enable-test-control.
type emulator struct{ base, faults string }

func newEmulator() *emulator {
	root := "http://" + net.JoinHostPort(os.Getenv("API_HOST"), os.Getenv("API_PORT")) + "/_emulator"
	return &emulator{base: root + "/clock", faults: root + "/faults"}
}

// fail makes the next calls fail as body says ({"call": "lease", "error": "...", ...}).
func (e *emulator) fail(body string) {
	resp, err := http.Post(e.faults, "application/json", strings.NewReader(body))
	if err != nil {
		panic(failure{fmt.Sprintf("emulator faults: %v", err)})
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		text, _ := io.ReadAll(resp.Body)
		panic(failure{fmt.Sprintf("emulator faults: HTTP %d: %s", resp.StatusCode, text)})
	}
}

func (e *emulator) clock(body []byte) int64 {
	var resp *http.Response
	var err error
	if body == nil {
		resp, err = http.Get(e.base)
	} else {
		resp, err = http.Post(e.base, "application/json", bytes.NewReader(body))
	}
	if err != nil {
		panic(failure{fmt.Sprintf("emulator clock: %v", err)})
	}
	defer resp.Body.Close()
	var state struct {
		NowUsec int64 `json:"now_usec"`
	}
	if resp.StatusCode != 200 {
		panic(failure{fmt.Sprintf("emulator clock: HTTP %d (is --enable-test-control on?)", resp.StatusCode)})
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
		panic(failure{fmt.Sprintf("emulator clock: %v", err)})
	}
	return state.NowUsec
}

// now is the emulator's time in microseconds.
func (e *emulator) now() int64 { return e.clock(nil) }

// advance moves the emulator's clock forward (it keeps running from there).
func (e *emulator) advance(seconds float64) {
	e.clock([]byte(fmt.Sprintf(`{"advance_seconds": %g}`, seconds)))
}

// ahead is how far the emulator's clock runs ahead of this process's (Go stamps new tasks
// with time.Now(); after advances the emulator is ahead).
func (e *emulator) ahead() time.Duration {
	return time.Duration(e.now()*1e3 - time.Now().UnixNano())
}

// -- modes ----------------------------------------------------------------------------------

func serve() {
	http.HandleFunc("/run", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		runAll(appengine.NewContext(r), "request", r.URL.Query().Get("only"), w)
	})
	http.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
		ctx := appengine.NewContext(r)
		marker := r.URL.Query().Get("marker")
		aelog.Debugf(ctx, "%s debug line", marker)
		aelog.Infof(ctx, "%s info line: %d tasks", marker, 3)
		aelog.Warningf(ctx, "%s warning line", marker)
		aelog.Errorf(ctx, "%s error line", marker)
		aelog.Criticalf(ctx, "%s critical line", marker)
		aelog.Infof(ctx, "%s bytes %s", marker, []byte{0xff, 'x'}) // not UTF-8
		io.WriteString(w, "logged\n")
	})
	appengine.Main()
}

func main() {
	mode := flag.String("mode", "background", "background (run and exit) or serve (appengine.Main)")
	only := flag.String("only", "", "comma-separated scenario names (default: all)")
	flag.Parse()
	switch *mode {
	case "background":
		runAll(appengine.BackgroundContext(), "background", *only, os.Stdout)
	case "serve":
		serve()
	default:
		fmt.Fprintf(os.Stderr, "taskqueuecheck: unknown -mode %q\n", *mode)
		os.Exit(2)
	}
}
