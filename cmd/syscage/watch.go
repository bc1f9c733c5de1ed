package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/audit"
)

func init() { register("watch", newWatchCmd) }

type watchOptions struct {
	json      bool
	fromStart bool
	pid       int
	count     int
	timeout   time.Duration
}

func newWatchCmd() *cobra.Command {
	var o watchOptions
	c := &cobra.Command{
		Use:   "watch [--json]",
		Short: "Stream the kernel's seccomp audit records of every process on the machine",
		Long: `Stream seccomp audit records (type=1326) of every process on the machine,
whoever installed the filter (syscage, Docker, systemd, browsers), with the
arch, syscall and action named. Records the kernel dropped (rate limits,
an overrun log) are reported, never silently lost.

The kernel writes a record for the actions listed in
/proc/sys/kernel/seccomp/actions_logged when the filter returns them
(kill_process, kill_thread and log by default; see 'syscage kernel
--log-actions'). Reading the kernel log needs root or CAP_SYSLOG.

Exit status: 0 interrupted, --count records shown or --timeout passed; 2
bad flags; 3 the kernel log cannot be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runWatch(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	c.Flags().BoolVar(&o.json, "json", false, "one JSON object per line")
	c.Flags().BoolVar(&o.fromStart, "from-start", false, "start with the records already in the kernel log")
	c.Flags().IntVar(&o.pid, "pid", 0, "only records of this process")
	c.Flags().IntVar(&o.count, "count", 0, "exit after this many records (0: run until interrupted)")
	c.Flags().DurationVar(&o.timeout, "timeout", 0, "exit after this long (0: no limit)")
	return c
}

func runWatch(ctx context.Context, out, errOut io.Writer, o watchOptions) error {
	r, err := audit.OpenKmsg(!o.fromStart)
	if err != nil {
		return systemErr(err)
	}
	defer r.Close()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	seen := 0
	for ctx.Err() == nil {
		it, err := r.Next()
		if errors.Is(err, audit.ErrNoMore) {
			fds := []unix.PollFd{{Fd: int32(r.Fd()), Events: unix.POLLIN}}
			_, _ = unix.Poll(fds, 200)
			continue
		}
		if err != nil {
			return systemErr(err)
		}
		if it.Lost > 0 || it.LostReason != "" {
			if o.json {
				_ = writeJSONLine(out, map[string]any{"lost": it.Lost, "reason": it.LostReason})
			} else {
				fmt.Fprintf(errOut, "syscage: %s\n", it.LostReason)
			}
		}
		if it.Record == nil || (o.pid != 0 && it.Record.PID != o.pid) {
			continue
		}
		e := it.Record.Event()
		if o.json {
			if err := writeJSONLine(out, e); err != nil {
				return err
			}
		} else {
			exe := ""
			if e.Exe != "" {
				exe = " " + e.Exe
			}
			fmt.Fprintf(out, "%s %s%s\n", e.Time.Local().Format(time.RFC3339), e.Summary(), exe)
		}
		seen++
		if o.count > 0 && seen >= o.count {
			return nil
		}
	}
	return nil
}
