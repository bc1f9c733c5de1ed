package initstage

import (
	"reflect"
	"testing"
)

func TestConfigRoundTrip(t *testing.T) {
	cases := []*Config{
		{},
		{Path: "/bin/sh", Argv: []string{"sh", "-c", "echo 'a b'"}, Env: []string{"A=1", ""}, Dir: "/tmp",
			Filters: [][]byte{make([]byte, 16), {1, 2, 3, 4, 5, 6, 7, 8}}, Gate: []byte{}, Flags: 6, Caps: 1<<40 | 5,
			KeepCaps: true, KeepFDs: []int{7, 3}, LoopbackUp: true, NrSeccomp: 317, NrCloseRange: 436, FailAt: "hardened"},
		{Path: "/bin/cat", Filters: [][]byte{make([]byte, 8)}, Listener: true, ListenerFlags: 32},
	}
	for _, c := range cases {
		got, err := DecodeConfig(c.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, c)
		}
	}
}

func TestDecodeConfigRefuses(t *testing.T) {
	good := (&Config{Path: "/bin/true", Argv: []string{"true"}}).Encode()
	for name, b := range map[string][]byte{
		"empty":                     nil,
		"truncated":                 good[:len(good)-3],
		"trailing":                  append(append([]byte{}, good...), 0),
		"status":                    (&Status{Code: 1}).Encode(),
		"listener without a filter": (&Config{Path: "/bin/true", Listener: true}).Encode(),
		"listener and gate":         (&Config{Path: "/bin/true", Filters: [][]byte{make([]byte, 8)}, Gate: make([]byte, 8), Listener: true}).Encode(),
	} {
		if _, err := DecodeConfig(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, s := range []*Status{{}, {Code: 127, Errno: 2, Msg: "/nope"}, {Listener: true}} {
		got, err := DecodeStatus(s.Encode())
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("round trip of %+v: %+v %v", s, got, err)
		}
	}
	if _, err := DecodeStatus([]byte("garbage")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestParseFDs(t *testing.T) {
	for in, want := range map[string][2]int{"3,4": {3, 4}, "10,12": {10, 12}} {
		a, b, ok := parseFDs(in)
		if !ok || a != want[0] || b != want[1] {
			t.Errorf("%q: %d %d %v", in, a, b, ok)
		}
	}
	for _, in := range []string{"", "3", "3,", ",4", "3,4,5", "a,b", "-1,2", "3 ,4", "9999999999,1"} {
		if _, _, ok := parseFDs(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add((&Config{Path: "/bin/true", Argv: []string{"true"}, Filters: [][]byte{make([]byte, 8)}}).Encode())
	f.Add([]byte{})
	f.Add((&Config{Path: "/bin/cat", Filters: [][]byte{make([]byte, 8)}, Listener: true, ListenerFlags: 32}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeConfig(b)
		if err != nil {
			return
		}
		// What decodes encodes back to the same bytes.
		if again := c.Encode(); string(again) != string(b) {
			t.Errorf("decode/encode is not the identity")
		}
	})
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add((&Status{Code: 126, Errno: 13, Msg: "x"}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := DecodeStatus(b); err == nil && string(s.Encode()) != string(b) {
			t.Errorf("decode/encode is not the identity")
		}
	})
}
