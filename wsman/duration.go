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

// ParseDuration parses an xs:duration such as "PT60.000S" or "P0DT0H0M0S".
// Years and months are refused (they have no fixed length); negative
// durations and values past about 290 years are errors.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || len(s) > 64 || s[0] != 'P' {
		return 0, errDuration
	}
	rest := s[1:]
	var total float64
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
		v, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, errDuration
		}
		unit := rest[i]
		rest = rest[i+1:]
		switch {
		case !inTime && unit == 'D':
			total += v * 86400
		case inTime && unit == 'H':
			total += v * 3600
		case inTime && unit == 'M':
			total += v * 60
		case inTime && unit == 'S':
			total += v
		default:
			return 0, errDuration
		}
		any = true
	}
	if !any {
		return 0, errDuration
	}
	ns := total * 1e9
	if ns > math.MaxInt64 {
		return 0, errDuration
	}
	return time.Duration(ns), nil
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
