package bpf

import (
	"testing"
)

// benchProgram is a typical allowlist: arch check, then a linear list of
// 120 syscall numbers, one with an argument check, default ERRNO.
func benchProgram() Program {
	p := Program{
		LoadAbs(OffsetArch),
		JumpIf(JmpJEQ, auditArchX86_64, 1, 0),
		Ret(RetKillProcess),
		LoadAbs(OffsetNr),
	}
	const allowed = 120
	for nr := 0; nr < allowed; nr++ {
		// Each compare jumps to the ALLOW at the end when it matches.
		p = append(p, JumpIf(JmpJEQ, uint32(nr), uint8(allowed-nr+4), 0))
	}
	p = append(p,
		JumpIf(JmpJEQ, 200, 0, 3), // nr 200: allowed only when arg0 < 16
		LoadAbs(ArgLowOffset(0, false)),
		JumpIf(JmpJGE, 16, 0, 2),
		Ret(RetErrno|1),
		Ret(RetErrno|38),
		Ret(RetAllow),
	)
	return p
}

func benchmarkInterpreter(b *testing.B, run func(Program, *SeccompData) (int, error)) {
	p := benchProgram()
	if err := Validate(p); err != nil {
		b.Fatal(err)
	}
	inputs := []SeccompData{
		{Nr: 0, Arch: auditArchX86_64},
		{Nr: 60, Arch: auditArchX86_64},
		{Nr: 119, Arch: auditArchX86_64},
		{Nr: 200, Arch: auditArchX86_64, Args: [6]uint64{3}},
		{Nr: 300, Arch: auditArchX86_64},
	}
	executed := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := run(p, &inputs[i%len(inputs)])
		if err != nil {
			b.Fatal(err)
		}
		executed += n
	}
	b.StopTimer()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(executed)/s, "insns/s")
	}
	b.ReportMetric(float64(executed)/float64(b.N), "insns/op")
}

// BenchmarkEvaluate measures the allocation-free interpreter.
func BenchmarkEvaluate(b *testing.B) {
	benchmarkInterpreter(b, func(p Program, d *SeccompData) (int, error) {
		_, n, err := Evaluate(p, d, NativeEndian)
		return n, err
	})
}

// BenchmarkRun measures the interpreter with path recording.
func BenchmarkRun(b *testing.B) {
	benchmarkInterpreter(b, func(p Program, d *SeccompData) (int, error) {
		r, err := Run(p, d, NativeEndian)
		return r.Executed, err
	})
}

// BenchmarkValidate measures the validator on the same program.
func BenchmarkValidate(b *testing.B) {
	p := benchProgram()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := Validate(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedAllow measures the cache analysis over a 512-entry table.
func BenchmarkCachedAllow(b *testing.B) {
	p := benchProgram()
	t := CacheTarget{AuditArch: auditArchX86_64, Syscalls: 512}
	for i := 0; i < b.N; i++ {
		CachedAllow(p, t)
	}
}
