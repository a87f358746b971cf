package main

import (
	"net/url"
	"strings"
	"time"

	"google.golang.org/appengine"
	"google.golang.org/appengine/memcache"
	"google.golang.org/appengine/taskqueue"
)

type scenario struct {
	name string
	run  func(r *run)
}

// scenarios run in this order; each uses its own queue of tests/go/queue.yaml.
var scenarios = []scenario{
	{"example", example},
	{"lease_by_tag", leaseByTag},
	{"modify_lease", modifyLease},
	{"lease_expiry", leaseExpiry},
	{"unknown_queue", unknownQueue},
	{"push_queue", pushQueue},
	{"names", names},
	{"retry_limit", retryLimit},
	{"stats", stats},
	{"purge", purge},
	{"eta_and_delay", etaAndDelay},
	{"limits", limits},
	{"other_service", otherService},
	{"faults", faults},
}

func pullTask(name, payload string) *taskqueue.Task {
	return &taskqueue.Task{Name: name, Payload: []byte(payload), Method: "PULL"}
}

// example is Google's pull-queue walk-through: add, lease, process, delete.
func example(r *run) {
	const q = "pull-queue"
	added, err := taskqueue.Add(r.ctx, &taskqueue.Task{Payload: []byte("hello world"), Method: "PULL"}, q)
	r.must("Add", err)
	r.record("added", describeTask(added))
	more, err := taskqueue.AddMulti(r.ctx, []*taskqueue.Task{
		{Name: "named", Payload: []byte("second"), Method: "PULL"},
		{Payload: []byte("third"), Method: "PULL", Tag: "batch"},
	}, q)
	r.must("AddMulti", err)
	r.record("added_multi", describeTasks(more))

	before := r.emu.now()
	tasks, err := taskqueue.Lease(r.ctx, 100, q, 3600)
	r.record("lease_window", []int64{before, r.emu.now()})
	r.must("Lease", err)
	r.record("leased", describeTasks(tasks))
	again, err := taskqueue.Lease(r.ctx, 100, q, 3600)
	r.must("Lease again", err)
	r.record("leased_again", describeTasks(again))

	r.record("delete", describe(taskqueue.DeleteMulti(r.ctx, tasks, q)))
	st, err := taskqueue.QueueStats(r.ctx, []string{q})
	r.must("QueueStats", err)
	r.record("stats", describeStats(st))
}

// leaseByTag: an explicit tag, and "" meaning the oldest ready task's tag (untagged tasks
// form their own group, within the first maxTasks ready tasks).
func leaseByTag(r *run) {
	const q = "tag-queue"
	now := time.Now()
	task := func(name, tag string, ago time.Duration) *taskqueue.Task {
		return &taskqueue.Task{Name: name, Payload: []byte(name), Method: "PULL", Tag: tag, ETA: now.Add(-ago)}
	}
	_, err := taskqueue.AddMulti(r.ctx, []*taskqueue.Task{
		task("u1", "", 50*time.Second),
		task("a1", "A", 40*time.Second),
		task("u2", "", 30*time.Second),
		task("a2", "A", 20*time.Second),
		task("b1", "B", 10*time.Second),
	}, q)
	r.must("AddMulti", err)
	steps := []struct {
		key      string
		maxTasks int
		tag      string
	}{
		{"oldest_untagged_window", 2, ""},
		{"tag_A", 10, "A"},
		{"untagged_again", 10, ""},
		{"oldest_tag", 10, ""},
		{"nothing_left", 10, ""},
		{"unknown_tag", 10, "C"},
	}
	for _, step := range steps {
		tasks, err := taskqueue.LeaseByTag(r.ctx, step.maxTasks, q, 60, step.tag)
		r.must("LeaseByTag "+step.key, err)
		r.record(step.key, describeTasks(tasks))
	}
	plain, err := taskqueue.Lease(r.ctx, 10, q, 60)
	r.must("Lease", err)
	r.record("plain_lease", describeTasks(plain))
}

// modifyLease: extend with the current token, a stale token, a negative lease, an unknown
// task, and 0 to give the task back.
func modifyLease(r *run) {
	const q = "modify-queue"
	_, err := taskqueue.Add(r.ctx, pullTask("job", "work"), q)
	r.must("Add", err)
	tasks, err := taskqueue.Lease(r.ctx, 1, q, 60)
	r.must("Lease", err)
	if len(tasks) != 1 {
		panic(failure{"Lease returned no task"})
	}
	t := tasks[0]
	stale := *t
	r.record("leased", describeTask(t))

	before := r.emu.now()
	err = taskqueue.ModifyLease(r.ctx, t, q, 120)
	r.record("extend_window", []int64{before, r.emu.now()})
	r.record("extend", describe(err))
	r.record("extended", describeTask(t))
	r.record("extend_again", describe(taskqueue.ModifyLease(r.ctx, t, q, 30)))
	r.record("stale_token", describe(taskqueue.ModifyLease(r.ctx, &stale, q, 60)))
	r.record("negative_lease", describe(taskqueue.ModifyLease(r.ctx, t, q, -1)))
	unknown := &taskqueue.Task{Name: "never-added", ETA: time.Now()}
	r.record("unknown_task", describe(taskqueue.ModifyLease(r.ctx, unknown, q, 60)))
	r.record("release", describe(taskqueue.ModifyLease(r.ctx, t, q, 0)))
	r.emu.advance(1)
	again, err := taskqueue.Lease(r.ctx, 10, q, 60)
	r.must("Lease after release", err)
	r.record("leased_again", describeTasks(again))
}

// leaseExpiry: a lease that ran out cannot be modified; the next holder's token works.
func leaseExpiry(r *run) {
	const q = "expiry-queue"
	_, err := taskqueue.Add(r.ctx, pullTask("short", "work"), q)
	r.must("Add", err)
	first, err := taskqueue.Lease(r.ctx, 10, q, 10)
	r.must("Lease", err)
	if len(first) != 1 {
		panic(failure{"Lease returned no task"})
	}
	r.record("leased", describeTasks(first))
	r.emu.advance(11)
	r.record("modify_expired", describe(taskqueue.ModifyLease(r.ctx, first[0], q, 60)))
	second, err := taskqueue.Lease(r.ctx, 10, q, 60)
	r.must("Lease after expiry", err)
	r.record("leased_again", describeTasks(second))
	r.record("old_holder", describe(taskqueue.ModifyLease(r.ctx, first[0], q, 60)))
	if len(second) == 1 {
		r.record("new_holder", describe(taskqueue.ModifyLease(r.ctx, second[0], q, 60)))
	}
}

// unknownQueue: every call on a queue that queue.yaml does not define.
func unknownQueue(r *run) {
	const q = "no-such-queue"
	_, err := taskqueue.Add(r.ctx, pullTask("", "x"), q)
	r.record("add", describe(err))
	_, err = taskqueue.AddMulti(r.ctx, []*taskqueue.Task{pullTask("a", "x"), pullTask("b", "y")}, q)
	r.record("add_multi", describe(err))
	_, err = taskqueue.Lease(r.ctx, 10, q, 60)
	r.record("lease", describe(err))
	_, err = taskqueue.LeaseByTag(r.ctx, 10, q, 60, "tag")
	r.record("lease_by_tag", describe(err))
	r.record("modify_lease", describe(taskqueue.ModifyLease(r.ctx, &taskqueue.Task{Name: "a", ETA: time.Now()}, q, 60)))
	r.record("delete_multi", describe(taskqueue.DeleteMulti(r.ctx, []*taskqueue.Task{{Name: "a"}, {Name: "b"}}, q)))
	r.record("delete", describe(taskqueue.Delete(r.ctx, &taskqueue.Task{Name: "a"}, q)))
	r.record("purge", describe(taskqueue.Purge(r.ctx, q)))
	st, err := taskqueue.QueueStats(r.ctx, []string{q})
	r.record("stats_error", describe(err))
	r.record("stats", describeStats(st))
	_, err = taskqueue.Add(r.ctx, pullTask("", "x"), "bad_queue_name")
	r.record("add_invalid_queue_name", describe(err))
}

// pushQueue: pull calls on the default (push) queue, and a push task on a pull queue.
func pushQueue(r *run) {
	_, err := taskqueue.Lease(r.ctx, 10, "", 60)
	r.record("lease_default", describe(err))
	_, err = taskqueue.LeaseByTag(r.ctx, 10, "default", 60, "")
	r.record("lease_by_tag_default", describe(err))
	_, err = taskqueue.Add(r.ctx, pullTask("", "x"), "")
	r.record("add_pull_to_default", describe(err))
	post := taskqueue.NewPOSTTask("/work", url.Values{"key": {"value"}})
	_, err = taskqueue.Add(r.ctx, post, "pull-queue")
	r.record("add_push_to_pull_queue", describe(err))
	modify := &taskqueue.Task{Name: "x", ETA: time.Now()}
	r.record("modify_lease_default", describe(taskqueue.ModifyLease(r.ctx, modify, "", 60)))
	added, err := taskqueue.Add(r.ctx, post, "")
	r.must("Add push task", err)
	r.record("push_added", describeTask(added))
	st, err := taskqueue.QueueStats(r.ctx, []string{""})
	r.must("QueueStats", err)
	r.record("stats_default", describeStats(st))
}

// names: duplicate and tombstoned names, and how DeleteMulti reports names it cannot delete.
func names(r *run) {
	const q = "name-queue"
	_, err := taskqueue.Add(r.ctx, pullTask("dup", "1"), q)
	r.must("Add dup", err)
	_, err = taskqueue.Add(r.ctx, pullTask("dup", "2"), q)
	r.record("add_duplicate", describe(err))
	_, err = taskqueue.AddMulti(r.ctx, []*taskqueue.Task{pullTask("fresh", "3"), pullTask("dup", "4")}, q)
	r.record("add_multi_duplicate", describe(err))
	_, err = taskqueue.AddMulti(r.ctx, []*taskqueue.Task{pullTask("twin", "5"), pullTask("twin", "6")}, q)
	r.record("add_multi_twins", describe(err))

	_, err = taskqueue.Add(r.ctx, pullTask("gone", "7"), q)
	r.must("Add gone", err)
	r.record("delete", describe(taskqueue.Delete(r.ctx, &taskqueue.Task{Name: "gone"}, q)))
	_, err = taskqueue.Add(r.ctx, pullTask("gone", "8"), q)
	r.record("add_tombstoned", describe(err))
	_, err = taskqueue.AddMulti(r.ctx, []*taskqueue.Task{pullTask("gone", "9")}, q)
	r.record("add_multi_tombstoned", describe(err))
	r.record("delete_again", describe(taskqueue.Delete(r.ctx, &taskqueue.Task{Name: "gone"}, q)))
	deletions := []*taskqueue.Task{{Name: "gone"}, {Name: "never"}, {Name: "fresh"}}
	r.record("delete_multi", describe(taskqueue.DeleteMulti(r.ctx, deletions, q)))
	modify := &taskqueue.Task{Name: "gone", ETA: time.Now()}
	r.record("modify_tombstoned", describe(taskqueue.ModifyLease(r.ctx, modify, q, 60)))
}

// retryLimit: the queue's task_retry_limit (2), per-task RetryOptions that replace it, and
// options that switch it off (an AgeLimit, or no RetryLimit at all). A lease over the limit
// deletes the task; its name stays tombstoned.
func retryLimit(r *run) {
	const q = "retry-queue"
	now := time.Now()
	task := func(name string, ago time.Duration, opts *taskqueue.RetryOptions) *taskqueue.Task {
		t := pullTask(name, name)
		t.ETA, t.RetryOptions = now.Add(-ago), opts
		return t
	}
	_, err := taskqueue.AddMulti(r.ctx, []*taskqueue.Task{
		task("queue-limit", 4*time.Second, nil),
		task("task-limit-3", 3*time.Second, &taskqueue.RetryOptions{RetryLimit: 3}),
		task("age-limit", 2*time.Second, &taskqueue.RetryOptions{RetryLimit: 1, AgeLimit: time.Hour}),
		task("empty-options", 1*time.Second, &taskqueue.RetryOptions{}),
	}, q)
	r.must("AddMulti", err)
	rounds := []interface{}{}
	for i := 0; i < 5; i++ {
		tasks, err := taskqueue.Lease(r.ctx, 10, q, 10)
		r.must("Lease", err)
		rounds = append(rounds, describeTasks(tasks))
		r.emu.advance(11)
	}
	r.record("rounds", rounds)
	_, err = taskqueue.Add(r.ctx, pullTask("queue-limit", "again"), q)
	r.record("add_deleted_name", describe(err))
	st, err := taskqueue.QueueStats(r.ctx, []string{q})
	r.must("QueueStats", err)
	r.record("stats", describeStats(st))
}

// stats: QueueStats for a pull queue with a leased, a ready and a delayed task, and for an
// unknown queue; the minute window moves with the emulator's clock.
func stats(r *run) {
	const q = "stats-queue"
	r.record("ahead_usec", r.emu.ahead().Microseconds())
	now := time.Now()
	added, err := taskqueue.AddMulti(r.ctx, []*taskqueue.Task{
		{Name: "s1", Payload: []byte("1"), Method: "PULL", ETA: now.Add(-time.Minute)},
		{Name: "s2", Payload: []byte("2"), Method: "PULL", ETA: now.Add(-30 * time.Second)},
		{Name: "s3", Payload: []byte("3"), Method: "PULL", Delay: time.Hour},
	}, q)
	r.must("AddMulti", err)
	r.record("added", describeTasks(added))
	leased, err := taskqueue.Lease(r.ctx, 1, q, 60)
	r.must("Lease", err)
	r.record("leased", describeTasks(leased))
	st, err := taskqueue.QueueStats(r.ctx, []string{q, "no-such-queue"})
	r.must("QueueStats", err)
	r.record("stats", describeStats(st))
	r.emu.advance(61)
	st, err = taskqueue.QueueStats(r.ctx, []string{q})
	r.must("QueueStats after a minute", err)
	r.record("stats_after_a_minute", describeStats(st))
}

// purge: every task goes, the names stay tombstoned.
func purge(r *run) {
	const q = "purge-queue"
	_, err := taskqueue.AddMulti(r.ctx, []*taskqueue.Task{
		pullTask("p1", "1"), pullTask("p2", "2"), pullTask("p3", "3"),
	}, q)
	r.must("AddMulti", err)
	_, err = taskqueue.Lease(r.ctx, 1, q, 60)
	r.must("Lease", err)
	r.record("purge", describe(taskqueue.Purge(r.ctx, q)))
	st, err := taskqueue.QueueStats(r.ctx, []string{q})
	r.must("QueueStats", err)
	r.record("stats_after_purge", describeStats(st))
	tasks, err := taskqueue.Lease(r.ctx, 10, q, 60)
	r.must("Lease after purge", err)
	r.record("leased_after_purge", describeTasks(tasks))
	_, err = taskqueue.Add(r.ctx, pullTask("p2", "again"), q)
	r.record("add_purged_name", describe(err))
	_, err = taskqueue.Add(r.ctx, pullTask("p4", "4"), q)
	r.record("add_new_name", describe(err))
}

// etaAndDelay: a task with an ETA and one with a Delay are leased once the emulator's
// clock passes them. Go computes both from its own clock; earlier scenarios moved the
// emulator's clock ahead, and the emulator moves Go's ETAs onto its clock by that much.
func etaAndDelay(r *run) {
	const q = "eta-queue"
	r.record("ahead_usec", r.emu.ahead().Microseconds())
	at := time.Now().Add(time.Hour)
	_, err := taskqueue.Add(r.ctx, &taskqueue.Task{Name: "at-eta", Payload: []byte("eta"), Method: "PULL", ETA: at}, q)
	r.must("Add with ETA", err)
	_, err = taskqueue.Add(r.ctx, &taskqueue.Task{Name: "delayed", Payload: []byte("delay"), Method: "PULL", Delay: 2 * time.Hour}, q)
	r.must("Add with Delay", err)
	r.record("eta_usec", usec(at))
	st, err := taskqueue.QueueStats(r.ctx, []string{q})
	r.must("QueueStats", err)
	r.record("stats", describeStats(st))
	lease := func(key string) []*taskqueue.Task {
		tasks, err := taskqueue.Lease(r.ctx, 10, q, 60)
		r.must("Lease "+key, err)
		r.record(key, describeTasks(tasks))
		return tasks
	}
	lease("leased_now")
	r.emu.advance(3601)
	done := lease("leased_after_1h")
	r.record("delete", describe(taskqueue.DeleteMulti(r.ctx, done, q)))
	r.emu.advance(3600)
	lease("leased_after_2h")
}

// limits: the Go package checks nothing itself, so the emulator's server-side checks answer.
func limits(r *run) {
	const q = "limits-queue"
	leaseErr := func(maxTasks, leaseTime int) interface{} {
		_, err := taskqueue.Lease(r.ctx, maxTasks, q, leaseTime)
		return describe(err)
	}
	r.record("lease_1001_tasks", leaseErr(1001, 60))
	r.record("lease_0_tasks", leaseErr(0, 60))
	r.record("lease_8_days", leaseErr(1, 8*24*3600))
	r.record("lease_negative", leaseErr(1, -1))
	addErr := func(t *taskqueue.Task) interface{} {
		_, err := taskqueue.Add(r.ctx, t, q)
		return describe(err)
	}
	r.record("bad_task_name", addErr(pullTask("a.b", "x")))
	long := pullTask("", "x")
	long.Tag = strings.Repeat("t", 501)
	r.record("tag_too_long", addErr(long))
	r.record("payload_too_large", addErr(&taskqueue.Task{Method: "PULL", Payload: make([]byte, 1<<20)}))
	far := pullTask("", "x")
	far.ETA = time.Now().Add(31 * 24 * time.Hour)
	r.record("eta_too_far", addErr(far))
	many := make([]*taskqueue.Task, 101)
	for i := range many {
		many[i] = pullTask("", "x")
	}
	_, err := taskqueue.AddMulti(r.ctx, many, q)
	r.record("add_101_tasks", describe(err))
	st, err := taskqueue.QueueStats(r.ctx, []string{q})
	r.must("QueueStats", err)
	r.record("stats", describeStats(st))
}

// otherService: a bundled service the emulator does not serve (memcache) fails with a
// CallError naming it; the taskqueue calls are unaffected.
func otherService(r *run) {
	_, err := memcache.Get(r.ctx, "key")
	r.record("memcache_get", describe(err))
}

// faults: what Go's package returns for faults the emulator injects (POST /_emulator/faults,
// what shims.testing.fail_next uses): a taskqueue code is an *internal.APIError, a deadline a
// *internal.CallError that appengine.IsTimeoutError recognises. A failed call changes nothing.
func faults(r *run) {
	const q = "fault-queue"
	timeout := func(key string, err error) {
		r.record(key, describe(err))
		r.record(key+"_is_timeout", appengine.IsTimeoutError(err))
	}
	r.emu.fail(`{"call": "add", "error": "TRANSIENT_ERROR", "queue": "fault-queue"}`)
	_, err := taskqueue.Add(r.ctx, pullTask("f1", "x"), q)
	timeout("add", err)
	r.emu.fail(`{"call": "add", "error": "DEADLINE_EXCEEDED"}`)
	_, err = taskqueue.AddMulti(r.ctx, []*taskqueue.Task{pullTask("f1", "x")}, q)
	timeout("add_multi", err)
	_, err = taskqueue.Add(r.ctx, pullTask("f1", "x"), q)
	r.must("Add after the faults", err)

	r.emu.fail(`{"call": "lease", "error": "DeadlineExceededError", "count": 2}`)
	_, err = taskqueue.Lease(r.ctx, 10, q, 60)
	timeout("lease", err)
	_, err = taskqueue.LeaseByTag(r.ctx, 10, q, 60, "")
	timeout("lease_by_tag", err)
	tasks, err := taskqueue.Lease(r.ctx, 10, q, 60)
	r.must("Lease after the faults", err)
	r.record("leased", describeTasks(tasks))
	if len(tasks) != 1 {
		panic(failure{"Lease returned no task"})
	}

	r.emu.fail(`{"call": "modify_lease", "error": "TASK_LEASE_EXPIRED"}`)
	timeout("modify_lease", taskqueue.ModifyLease(r.ctx, tasks[0], q, 120))
	r.emu.fail(`{"call": "delete", "error": "TransientError"}`)
	timeout("delete_multi", taskqueue.DeleteMulti(r.ctx, tasks, q))
	r.emu.fail(`{"call": "purge", "error": "INTERNAL_ERROR"}`)
	timeout("purge", taskqueue.Purge(r.ctx, q))
	r.emu.fail(`{"call": "stats", "error": "DEADLINE_EXCEEDED"}`)
	_, err = taskqueue.QueueStats(r.ctx, []string{q})
	timeout("stats_error", err)
	st, err := taskqueue.QueueStats(r.ctx, []string{q})
	r.must("QueueStats after the faults", err)
	r.record("stats", describeStats(st))
}
