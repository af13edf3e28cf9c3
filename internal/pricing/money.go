package pricing

import (
	"errors"
	"strconv"
	"strings"
)

// Micro is one millionth of a US dollar. Costs and budgets are integers of
// it, so that sums of many requests are exact.
const Micro = 1_000_000

// maxUSD bounds parsed amounts so that products with token counts cannot
// overflow int64: $1,000,000 per million tokens is far above any price.
const maxUSD = 1_000_000_000

// ParseUSD parses a non-negative decimal amount of dollars ("2.50",
// "0.075", "10") into micro-dollars, exactly. More than six decimals, signs,
// exponents and amounts over a billion dollars are errors: a price file
// should say what it means.
func ParseUSD(s string) (int64, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" && frac == "" || dot && frac == "" && whole == "" {
		return 0, errors.New("empty amount")
	}
	if len(frac) > 6 {
		return 0, errors.New("more than 6 decimal places in " + strconv.Quote(s))
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, errors.New("not a decimal amount: " + strconv.Quote(s))
			}
		}
	}
	var w int64
	if whole != "" {
		if len(whole) > 10 {
			return 0, errors.New("amount too large: " + strconv.Quote(s))
		}
		w, _ = strconv.ParseInt(whole, 10, 64)
	}
	if w > maxUSD {
		return 0, errors.New("amount too large: " + strconv.Quote(s))
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
	}
	return w*Micro + f, nil
}

// FormatUSD formats micro-dollars as a decimal amount of dollars with six
// decimals ("1.234500"), exactly.
func FormatUSD(micro int64) string {
	sign := ""
	if micro < 0 {
		sign, micro = "-", -micro
	}
	return sign + strconv.FormatInt(micro/Micro, 10) + "." + leftPad(strconv.FormatInt(micro%Micro, 10), 6)
}

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}
