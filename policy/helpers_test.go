package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// stripPos zeroes every Pos reachable from v (a pointer), so that two
// policies can be compared for meaning and comments alone.
func stripPos(v any) {
	stripValue(reflect.ValueOf(v))
}

var posType = reflect.TypeOf(Pos{})

func stripValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			stripValue(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == posType {
			if v.CanSet() {
				v.Set(reflect.Zero(posType))
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			stripValue(v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			stripValue(v.Index(i))
		}
	case reflect.Map:
		// Maps in the model hold no positions.
	}
}

// mustParse parses src as a complete policy or fails the test.
func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("test.policy", []byte(src), ParseOptions{})
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror:\n%v", src, err)
	}
	return p
}

// writeFile writes text to name, creating its directory.
func writeFile(name, text string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, []byte(text), 0o644)
}
