package wsman

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

var errDuration = errors.New("wsman: invalid xs:duration")

// ParseDuration parses an xs:duration such as "PT60.000S" or "P0DT0H0M0S"
// exactly (decimal fractions are not rounded through floating point).
// Years and months are refused (they have no fixed length); negative
// durations and values that overflow time.Duration are errors.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || len(s) > 64 || s[0] != 'P' {
		return 0, errDuration
	}
	rest := s[1:]
	var total int64
	inTime, any := false, false
	for len(rest) > 0 {
		if rest[0] == 'T' {
			if inTime {
				return 0, errDuration
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return 0, errDuration
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, errDuration
		}
		num, unitCh := rest[:i], rest[i]
		rest = rest[i+1:]
		var unit int64
		switch {
		case !inTime && unitCh == 'D':
			unit = int64(24 * time.Hour)
		case inTime && unitCh == 'H':
			unit = int64(time.Hour)
		case inTime && unitCh == 'M':
			unit = int64(time.Minute)
		case inTime && unitCh == 'S':
			unit = int64(time.Second)
		default:
			return 0, errDuration
		}
		v, err := decimalTimes(num, unit)
		if err != nil || total > math.MaxInt64-v {
			return 0, errDuration
		}
		total += v
		any = true
	}
	if !any {
		return 0, errDuration
	}
	return time.Duration(total), nil
}

// decimalTimes returns num × unit for a decimal "123" or "123.456".
// XML Schema allows a fraction only on seconds; to be lenient this
// parser accepts it on any component. unit is a whole number of seconds.
func decimalTimes(num string, unit int64) (int64, error) {
	intPart, frac, _ := strings.Cut(num, ".")
	if intPart == "" && frac == "" || strings.Contains(frac, ".") {
		return 0, errDuration
	}
	var n int64
	if intPart != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil || v > math.MaxInt64/unit {
			return 0, errDuration
		}
		n = v * unit
	}
	// Nanoseconds of the fraction: at most 9 digits count.
	if len(frac) > 9 {
		frac = frac[:9]
	}
	if frac != "" {
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, errDuration
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		add := f * (unit / int64(time.Second))
		if n > math.MaxInt64-add {
			return 0, errDuration
		}
		n += add
	}
	return n, nil
}

// FormatDuration renders d as WinRM does in rsp:IdleTimeOut, "PT7200.000S".
func FormatDuration(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("PT%d.%03dS", ms/1000, ms%1000)
}

// FormatDayDuration renders d as WinRM does in rsp:ShellRunTime, "P0DT0H0M0S".
func FormatDayDuration(d time.Duration) string {
	s := int64(d / time.Second)
	return fmt.Sprintf("P%dDT%dH%dM%dS", s/86400, s%86400/3600, s%3600/60, s%60)
}
