/*
 * gesv.c — the ГЭСВ root of a loan's cash flows (see gesv.h).
 *
 * Floating point: long double (x86-64: 64-bit mantissa).  Amounts up to
 * 2^64 convert exactly; each discount factor (1+i)^(−t/365) is
 * expl(−t/365 · log1pl(i)), within a few ulps (2^-62 relative); the sum of
 * at most GESV_MAX_FLOWS terms is then within about 2^-52 of Σ|CF| of the
 * exact one.  The root is bracketed and bisected (no Newton step can throw
 * it out of the bracket), and the rounding to 0.1 % is decided by the sign
 * of the sum at the two half-way rates around the root's estimate, with a
 * tolerance that gives a root within about 10^-14 of a half-way rate (an
 * exact tie included) the higher rounding, as the regulator's tie rule does.  Same inputs, same
 * binary: same answer (no threads, no randomness, no dependence on order of
 * the caller's flows: they are sorted by day first).
 */
#include "core/gesv.h"

#include <math.h>

#include "common/banned.h"

long double gesv_npv(const struct gesv_flow *flows, size_t n, long double rate)
{
	long double l = log1pl(rate);
	long double sum = 0.0L;
	int32_t t0 = n ? flows[0].day : 0;
	for (size_t k = 0; k < n; k++)
		if (flows[k].day < t0)
			t0 = flows[k].day;
	for (size_t k = 0; k < n; k++) {
		long double years = (long double)(flows[k].day - t0) / 365.0L;
		sum += (long double)flows[k].amount * expl(-years * l);
	}
	return sum;
}

/* Sort by day (insertion: at most GESV_MAX_FLOWS, usually a few dozen) and
 * net each day's flows; days that net to zero drop out.  Returns the count,
 * or 0 when the flows do not change sign exactly once from negative to
 * positive (the only shape with a single root). */
static size_t net_by_day(const struct gesv_flow *in, size_t n, struct gesv_flow *out)
{
	size_t m = 0;
	for (size_t k = 0; k < n; k++) {
		size_t j = m;
		while (j > 0 && out[j - 1].day > in[k].day) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = in[k];
		m++;
	}
	size_t w = 0;
	for (size_t k = 0; k < m; k++) {
		/* |a day's sum| <= GESV_MAX_FLOWS · GESV_MAX_AMOUNT < 2^63 */
		if (w > 0 && out[w - 1].day == out[k].day)
			out[w - 1].amount += out[k].amount;
		else
			out[w++] = out[k];
		if (out[w - 1].amount == 0)
			w--;
	}
	size_t k = 0;
	while (k < w && out[k].amount < 0)
		k++;
	if (k == 0 || k == w)
		return 0;
	for (size_t j = k; j < w; j++)
		if (out[j].amount < 0)
			return 0;
	return w;
}

enum senim_result gesv_solve(const struct gesv_flow *flows, size_t n,
			     struct gesv_result *out)
{
	struct gesv_flow net[GESV_MAX_FLOWS];
	if (n == 0 || n > GESV_MAX_FLOWS)
		return SENIM_ERR_INVALID;
	for (size_t k = 0; k < n; k++)
		if (flows[k].amount == 0 || flows[k].amount > GESV_MAX_AMOUNT ||
		    flows[k].amount < -GESV_MAX_AMOUNT)
			return SENIM_ERR_INVALID;
	size_t m = net_by_day(flows, n, net);
	if (m == 0)
		return SENIM_ERR_INVALID;

	/* f(i) > 0 below the root and < 0 above it.  Bracket it: upward by
	 * doubling from 0, or downward toward −1 by halving the distance. */
	long double lo, hi;
	if (gesv_npv(net, m, 0.0L) >= 0.0L) {
		lo = 0.0L;
		hi = 1.0L;
		while (gesv_npv(net, m, hi) >= 0.0L) {
			lo = hi;
			hi *= 2.0L;
			if (hi > GESV_MAX_RATE)
				return SENIM_ERR_INVALID;
		}
	} else {
		hi = 0.0L;
		lo = -0.5L;
		while (gesv_npv(net, m, lo) < 0.0L) {
			hi = lo;
			lo = -1.0L + (1.0L + lo) / 2.0L;
			if (lo <= -1.0L + 1e-12L)
				return SENIM_ERR_INVALID; /* payments of almost nothing */
		}
	}
	for (int it = 0; it < 256; it++) {
		long double mid = lo + (hi - lo) / 2.0L;
		if (mid <= lo || mid >= hi)
			break;
		if (gesv_npv(net, m, mid) >= 0.0L)
			lo = mid;
		else
			hi = mid;
	}
	long double root = lo + (hi - lo) / 2.0L;

	/* The m with (m − ½)/1000 <= root < (m + ½)/1000, settled by the sign of
	 * f at each half-way rate: root >= b exactly when f(b) >= 0.  f(b) is
	 * known to within about Σ|CF|·2^-52, so "f(b) >= −tol" counts a root
	 * that close to b (and an exact tie, which the regulator rounds up) as
	 * reaching it: the doubt goes to the higher rate, the side on which a
	 * cap check refuses rather than allows. */
	long double tol = 0.0L;
	for (size_t k = 0; k < m; k++)
		tol += fabsl((long double)net[k].amount);
	tol = ldexpl(tol, -50);
	long double guess = root * 1000.0L + 0.5L;
	int64_t tenths = (int64_t)guess;
	if ((long double)tenths > guess)
		tenths--; /* floor for negative rates */
	for (int step = 0; step < 4; step++) {
		if (gesv_npv(net, m, ((long double)tenths - 0.5L) / 1000.0L) < -tol)
			tenths--;
		else if (gesv_npv(net, m, ((long double)tenths + 0.5L) / 1000.0L) >= -tol)
			tenths++;
		else
			break;
	}
	out->bp = tenths * 10;
	out->rate = root;
	return SENIM_OK;
}
