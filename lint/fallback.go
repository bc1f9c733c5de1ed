package lint

import "sync"

// fallback is a syscall whose callers retry with older syscalls when,
// and only when, it fails with ENOSYS.
type fallback struct {
	name string
	// to are the older syscalls callers fall back to; empty when the
	// caller carries on without (ENOSYS meaning "not supported").
	to []string
	// why says who falls back to what.
	why string
}

// fallbacks lists the syscalls that must be denied with ENOSYS, never
// another errno, when what they fall back to is allowed: EPERM makes the
// caller report the error instead of using the older call. The list is
// built on first use, not while every program linking lint starts.
var fallbacks = sync.OnceValue(func() []fallback {
	out := []fallback{
		{"clone3", []string{"clone"}, "glibc 2.34 and later try clone3 first and use clone only after ENOSYS"},
		{"faccessat2", []string{"faccessat"}, "glibc 2.33 and later try faccessat2 first and use faccessat only after ENOSYS"},
		{"openat2", []string{"openat"}, "programs that use openat2 (systemd, container runtimes) use openat only after ENOSYS"},
		{"statx", []string{"newfstatat", "fstatat64", "fstat", "fstat64", "stat", "stat64", "lstat", "lstat64"},
			"glibc on 32-bit architectures, Rust's standard library and others use fstatat only after ENOSYS"},
		{"fchmodat2", []string{"fchmodat"}, "glibc 2.39 and later try fchmodat2 first and use fchmodat only after ENOSYS"},
		{"close_range", []string{"close"}, "programs close descriptors one by one only after ENOSYS"},
		{"preadv2", []string{"preadv"}, "glibc's preadv2 without flags uses preadv only after ENOSYS"},
		{"pwritev2", []string{"pwritev"}, "glibc's pwritev2 without flags uses pwritev only after ENOSYS"},
		{"landlock_create_ruleset", nil, "programs that sandbox themselves with Landlock carry on without it after ENOSYS, and fail on other errors"},
	}
	// glibc 2.32 and later on 32-bit architectures call the 64-bit time
	// syscalls first and the old ones only after ENOSYS.
	for _, p := range [][2]string{
		{"clock_gettime64", "clock_gettime"}, {"clock_settime64", "clock_settime"},
		{"clock_adjtime64", "clock_adjtime"}, {"clock_getres_time64", "clock_getres"},
		{"clock_nanosleep_time64", "clock_nanosleep"}, {"timer_gettime64", "timer_gettime"},
		{"timer_settime64", "timer_settime"}, {"timerfd_gettime64", "timerfd_gettime"},
		{"timerfd_settime64", "timerfd_settime"}, {"utimensat_time64", "utimensat"},
		{"pselect6_time64", "pselect6"}, {"ppoll_time64", "ppoll"},
		{"io_pgetevents_time64", "io_pgetevents"}, {"recvmmsg_time64", "recvmmsg"},
		{"mq_timedsend_time64", "mq_timedsend"}, {"mq_timedreceive_time64", "mq_timedreceive"},
		{"semtimedop_time64", "semtimedop"}, {"rt_sigtimedwait_time64", "rt_sigtimedwait"},
		{"futex_time64", "futex"}, {"sched_rr_get_interval_time64", "sched_rr_get_interval"},
	} {
		out = append(out, fallback{p[0], []string{p[1]}, "glibc on 32-bit architectures uses " + p[1] + " only after " + p[0] + " fails with ENOSYS"})
	}
	return out
})
