package group

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Params are an app's key=value parameters.
type Params map[string]string

// ParseParam parses one "key=value" argument. The key must be non-empty and
// must not contain spaces; the value may be empty and may contain '='.
func ParseParam(kv string) (key, value string, err error) {
	key, value, ok := strings.Cut(kv, "=")
	if !ok {
		return "", "", fmt.Errorf("%w: parameter %q is not key=value", ErrBadSpec, kv)
	}
	if key == "" || strings.ContainsAny(key, " \t\n") {
		return "", "", fmt.Errorf("%w: parameter %q has an empty or blank key", ErrBadSpec, kv)
	}
	return key, value, nil
}

// ParseParams parses "key=value" arguments; a repeated key is an error.
func ParseParams(kvs []string) (Params, error) {
	p := Params{}
	for _, kv := range kvs {
		k, v, err := ParseParam(kv)
		if err != nil {
			return nil, err
		}
		if _, dup := p[k]; dup {
			return nil, fmt.Errorf("%w: parameter %q given twice", ErrBadSpec, k)
		}
		p[k] = v
	}
	return p, nil
}

// String returns the value of key, or def when it is absent.
func (p Params) String(key, def string) string {
	if v, ok := p[key]; ok {
		return v
	}
	return def
}

// Int returns the integer value of key, or def when it is absent.
func (p Params) Int(key string, def int) (int, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%w: parameter %s=%q is not an integer", ErrBadSpec, key, v)
	}
	return n, nil
}

// Float returns the floating-point value of key, or def when it is absent.
func (p Params) Float(key string, def float64) (float64, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: parameter %s=%q is not a number", ErrBadSpec, key, v)
	}
	return f, nil
}

// Duration returns the duration value of key (e.g. "250ms"), or def.
func (p Params) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%w: parameter %s=%q is not a duration (e.g. 250ms, 3s)", ErrBadSpec, key, v)
	}
	return d, nil
}

// Keys returns the parameter names in sorted order.
func (p Params) Keys() []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
