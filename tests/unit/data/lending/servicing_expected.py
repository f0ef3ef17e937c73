#!/usr/bin/env python3
"""Expected servicing results for tests/unit/test_servicing.c, computed
without the C: each loan is a list of instalments (what fell due, what of it
is unpaid), payments are spread over them oldest first component by
component, and every amount is an exact Fraction rounded half-up once.  It
writes servicing_cases.inc beside itself:

    python3 tests/unit/data/lending/servicing_expected.py

The rules are docs/lending-servicing.md's: the state after the close of day D
is the loan on the morning of D+1; a row falls due at the close of the day
before its due date; unpaid at the close of its due date d it is overdue,
delay days D+1-d; a day's penalty is half_up(overdue principal+interest *
daily / 10000), capped per contract year at floor(amount * annual / 10000);
interest to the day is the current period's in proportion to its days
(the period's 30/360 months spread over its days, actual/365 for a single
payment); allocation in the rule's order, the late order beyond after_days;
an early repayment pays the interest to the day first, in full, then
principal; a partial one keeps the due dates and rebuilds the rows.

A restructuring (core/restructure's rule, restated here): the principal
left is rescheduled (a deferral of k months keeps the rows left, the first
k + 1 months on, with the k months' interest; a term of N rows from the
day), and the interest owed — due and unpaid, accrued to the day — is
carried into the first new row.  The carried amount is owed as interest
until that row falls due: an early repayment pays it with the interest to
the day, and the payoff includes it.

A deferred first row's period is k + 1 months long (the decision day to its
due date) and its interest is the k + 1 months': the interest to the day in
it is the k + 1 months' interest in proportion to the days run, and so is a
rebuilt first row's after a partial early repayment.  The model knows the
months of each period from how it was made (`months`: 1 for a schedule's
row, k + 1 for a deferred first row), not from its dates.
"""
import datetime
import os
import sys
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from expected import add_months, half_up, schedule  # noqa: E402

EPOCH = datetime.date(1970, 1, 1)

# The rules of test_servicing.c's RULES text.
DAILY_BP, ANNUAL_BP, NOTICE_DAYS, RESTR_DAYS = 50, 1000, 10, 30
AFTER_DAYS = 90
ORDER = ["po", "io", "pen", "pc", "ic"]
ORDER_AFTER = ["po", "io", "pc", "ic", "pen"]

EV = {"due": 1, "overdue": 2, "notice": 4, "bucket": 8, "capped": 16,
      "cured": 32, "closed": 64, "rescheduled": 128}


def dn(d):
    return (d - EPOCH).days


def bucket(days):
    if days <= 0:
        return 0
    if days <= 30:
        return 1
    if days <= 60:
        return 2
    if days <= 90:
        return 3
    return 4


class Loan:
    def __init__(self, method, p, bp, n, start, pd=DAILY_BP, pa=ANNUAL_BP):
        self.method, self.p, self.bp, self.start = method, p, bp, start
        self.pd, self.pa = min(pd, DAILY_BP), min(pa, ANNUAL_BP)
        _, rows = schedule(method, p, bp, n, start)
        self.rows = [(dn(r[0]), r[1], r[2]) for r in rows]
        self.sched = list(self.rows)
        self.nxt = 0
        self.inst = []  # [due, principal unpaid, interest unpaid]
        self.not_due = p
        self.pen_due = 0
        self.ps = self.seg = dn(start)
        self.pe = self.rows[0][0]
        self.months = 1  # the 30/360 months the current period [ps, pe) spans
        self.day = dn(start) - 1
        self.overdue = False
        self.overdue_days = 0
        self.bucket = 0
        self.notice_by = None
        self.pen_total = 0
        self.pen_year = {}
        self.paid = [0, 0, 0]  # principal, interest, penalty
        self.overpaid = 0
        self.closed = False
        self.accrued = 0
        self.carried = 0  # interest a restructuring carried, not yet due

    def to_day(self, to):
        if self.nxt >= len(self.rows) or to <= self.seg:
            return 0
        to = min(to, self.pe)
        if self.method == "SINGLE":
            return half_up(Fraction(self.not_due * self.bp * (to - self.seg), 10000 * 365))
        return half_up(self.month_share(self.not_due, to - self.seg))

    def month_share(self, bal, days):
        """The interest of bal over `days` of the current monthly period: the
        period's months of interest (30/360) in proportion to its days.  This
        model once took one month here whatever the period (bal*bp*days /
        (120000*(pe-ps))), which pinned servicing.c's defect: after a deferral
        of k months the first period is k+1 months and its row bears k+1
        months' interest, but an early repayment in it paid a single month's
        interest spread over k+1 months (about a third of what accrued for
        k = 2), and a rebuilt first row took the same short share.  The
        expected values of restr_full and restr_part changed with it."""
        return Fraction(bal * self.bp * self.months * days, 120000 * (self.pe - self.ps))

    def year_of(self, d):
        k = 0
        while dn(add_months(self.start, 12 * (k + 1))) <= d:
            k += 1
        return k

    def close(self, d):
        assert d == self.day + 1
        ev = 0
        self.day = d
        if self.closed:
            if self.bucket:
                self.bucket = 0
                ev |= EV["bucket"]
            return ev
        self.accrued = self.to_day(d + 1)
        owed = sum(i[1] + i[2] for i in self.inst)
        if owed:
            oldest = min(i[0] for i in self.inst if i[1] + i[2] > 0)
            if not self.overdue:
                self.overdue = True
                self.notice_by = d + NOTICE_DAYS
                ev |= EV["overdue"] | EV["notice"]
            self.overdue_days = d + 1 - oldest
            y = self.year_of(d + 1)
            room = max(0, self.p * self.pa // 10000 - self.pen_year.get(y, 0))
            pen = half_up(Fraction(owed * self.pd, 10000))
            if pen >= room > 0:
                ev |= EV["capped"]  # this day reaches the year's cap
            pen = min(pen, room)
            self.pen_due += pen
            self.pen_total += pen
            self.pen_year[y] = self.pen_year.get(y, 0) + pen
        else:
            self.overdue_days = 0
        if bucket(self.overdue_days) != self.bucket:
            self.bucket = bucket(self.overdue_days)
            ev |= EV["bucket"]
        if self.nxt < len(self.rows) and self.rows[self.nxt][0] == d + 1:
            due, pp, ii = self.rows[self.nxt]
            self.inst.append([due, pp, ii])
            self.not_due -= pp
            self.carried = 0  # it is in ii, due now
            self.nxt += 1
            self.accrued = 0
            self.ps = self.seg = due
            self.pe = self.rows[self.nxt][0] if self.nxt < len(self.rows) else due
            self.months = 1  # every row after the first is a month
            ev |= EV["due"]
        return ev

    def pay(self, d, amount, early=False):
        assert d == self.day + 1 and not self.closed
        rem = amount
        split = dict(po=0, io=0, pen=0, pc=0, ic=0, itd=0, pe=0, over=0, ev=0)
        order = ORDER_AFTER if self.overdue_days > AFTER_DAYS else ORDER
        for comp in order:
            if comp == "pen":
                x = min(rem, self.pen_due)
                self.pen_due -= x
                rem -= x
                split["pen"] += x
                self.paid[2] += x
                continue
            k = 1 if comp[0] == "p" else 2
            for i in self.inst:  # oldest first
                if (i[0] < d) != (comp[1] == "o"):
                    continue
                x = min(rem, i[k])
                i[k] -= x
                rem -= x
                split[comp] += x
                self.paid[k - 1] += x
        new_rows = None
        if early and rem > 0 and self.not_due > 0:
            itd = self.carried + self.to_day(d)
            if rem >= itd:
                rem -= itd
                split["itd"] = itd
                self.carried = 0
                self.paid[1] += itd
                x = min(rem, self.not_due)
                rem -= x
                split["pe"] = x
                self.paid[0] += x
                self.not_due -= x
                self.seg = d
                self.accrued = 0
                if self.not_due > 0:
                    new_rows = self.rebuild(d)
                    self.rows, self.nxt = new_rows, 0
                    self.inst = []
                    split["ev"] |= EV["rescheduled"]
                else:
                    self.nxt = len(self.rows)
        split["over"] = rem
        self.overpaid += rem
        if self.overdue and all(i[1] + i[2] == 0 for i in self.inst if i[0] < d):
            self.overdue = False
            self.overdue_days = 0
            self.notice_by = None
            split["ev"] |= EV["cured"]
        if (self.principal() == 0 and self.interest_due() == 0 and self.pen_due == 0
                and self.carried == 0):
            self.closed = True
            self.accrued = 0
            split["ev"] |= EV["closed"]
        return split, new_rows

    def rebuild(self, d):
        rest = self.rows[self.nxt:]
        m, bal, bp = len(rest), self.not_due, self.bp
        if self.method == "ANNUITY":
            r = Fraction(bp, 120000)
            q = (1 + r) ** m
            level = half_up(bal * r * q / (q - 1)) if bp else half_up(Fraction(bal, m))
        else:
            level = half_up(Fraction(bal, m))
        out = []
        for k, (due, _, _) in enumerate(rest):
            if self.method == "SINGLE":
                ii = half_up(Fraction(bal * bp * (due - d), 10000 * 365))
            elif k == 0:
                ii = half_up(self.month_share(bal, due - d))
            else:
                ii = half_up(Fraction(bal * bp, 120000))
            if k == m - 1 or self.method == "SINGLE":
                part = bal
            elif self.method == "ANNUITY":
                part = level - ii
            else:
                part = level
            part = max(0, min(part, bal))
            bal -= part
            out.append((due, part, ii))
        assert bal == 0 and sum(r[1] for r in out) == self.not_due
        return out

    def principal(self):
        return self.not_due + sum(i[1] for i in self.inst)

    def interest_due(self):
        return sum(i[2] for i in self.inst)

    def payoff(self, d):
        return (self.principal() + self.interest_due() + self.pen_due + self.carried
                + self.to_day(d))

    def restructure(self, d, kind, k):
        """Reschedule on the morning of d (before its payments): returns the
        carried interest and the new rows."""
        assert d == self.day + 1 and self.method != "SINGLE"
        P = self.principal()
        carried = self.interest_due() + self.accrued + self.carried
        day = EPOCH + datetime.timedelta(days=d)
        extra = 0
        if kind == "deferral":
            left = max(1, len(self.rows) - self.nxt)
            _, rows = schedule(self.method, P, self.bp, left, add_months(day, k))
            extra = half_up(Fraction(P * self.bp * k, 120000))
        else:
            _, rows = schedule(self.method, P, self.bp, k, day)
        rows = [(dn(r[0]), r[1], r[2]) for r in rows]
        rows[0] = (rows[0][0], rows[0][1], rows[0][2] + carried + extra)
        self.rows, self.nxt, self.inst = rows, 0, []
        self.not_due, self.carried, self.accrued = P, carried, 0
        self.ps = self.seg = d
        self.pe = rows[0][0]
        # the first new row: k + 1 months for a deferral, one for a term
        self.months = k + 1 if kind == "deferral" else 1
        self.overdue, self.overdue_days, self.bucket = False, 0, 0
        self.notice_by = None  # never sent in these scenarios
        return carried, rows

    def row_total_due(self, d):
        return sum(i[1] + i[2] for i in self.inst) + self.pen_due


def run(name, loan, script, until, restr=None):
    """script: {day: [(amount or callable, early)]}; records every pay and
    the state after every close that had events or a payment.  restr:
    (day, kind, k) restructures on that day's morning, and from then on
    every row is paid on its due date."""
    pays, checks, rows_out, restr_out = [], [], [], []
    d = loan.day + 1
    while d <= until:
        if restr and d == restr[0]:
            carried, new = loan.restructure(d, restr[1], restr[2])
            restr_out.append((name, d, restr[1], restr[2], carried, len(new)))
            rows_out += [(name + "/r", k) + r for k, r in enumerate(new)]
        payments_today = list(script.get(d, []))
        if restr and d > restr[0] and any(r[0] == d for r in loan.rows):
            payments_today.append((lambda l, d: l.row_total_due(d), False))
        for what, early in payments_today:
            amount = what(loan, d) if callable(what) else what
            split, new_rows = loan.pay(d, amount, early)
            pays.append((name, d, amount, int(early), split, len(new_rows or [])))
            if new_rows:
                rows_out += [(name, k) + r for k, r in enumerate(new_rows)]
        ev = loan.close(d)
        if ev or payments_today or d == until or (restr and d == restr[0]):
            checks.append((name, d, ev, state_of(loan)))
        d += 1
    return pays, checks, rows_out, restr_out


def state_of(l):
    status = 2 if l.closed else (1 if l.overdue else 0)
    return [status, l.principal(), l.not_due, sum(i[1] for i in l.inst),
            l.interest_due(), l.pen_due, l.accrued, l.overdue_days, l.bucket,
            l.pen_total, l.paid[0], l.paid[1], l.paid[2], l.overpaid,
            l.notice_by if l.notice_by is not None else -(2 ** 31), l.carried]


def on_time(loan):
    """Pay each row's total on its due date."""
    return {r[0]: [(lambda l, d: l.row_total_due(d), False)] for r in loan.rows}


def scenarios():
    D = datetime.date
    out = []
    # 1. An annuity paid on time to closing, paid out on 31 January.
    l = Loan("ANNUITY", 100_000_000, 4000, 6, D(2026, 1, 31))
    out.append(("on_time", l, on_time(l), l.rows[-1][0] + 2))
    # 2. The second instalment never paid on time: buckets, the cap, then
    #    everything paid 130 days late, in the late order.
    l = Loan("ANNUITY", 50_000_000, 4600, 3, D(2026, 3, 15))
    s = {l.rows[0][0]: [(lambda l, d: l.row_total_due(d), False)]}
    s[l.rows[1][0] + 130] = [(lambda l, d: l.payoff(d), False)]
    out.append(("late", l, s, l.rows[1][0] + 132))
    # 3. Partial payments in order: 5 days late, a third of what is due, on
    #    the day the next row is current; then the rest.
    l = Loan("DIFFERENTIATED", 30_000_000, 3600, 4, D(2026, 2, 10))
    s = {l.rows[0][0] + 5: [(lambda l, d: l.row_total_due(d) // 3, False)],
         l.rows[1][0]: [(lambda l, d: 6_000_000, False), (lambda l, d: l.row_total_due(d), False)]}
    out.append(("partial", l, s, l.rows[1][0] + 3))
    # 4. Overpayment: the first row plus 12,345 tiyn too much.
    l = Loan("ANNUITY", 20_000_000, 3000, 3, D(2026, 4, 1))
    s = {l.rows[0][0]: [(lambda l, d: l.row_total_due(d) + 12_345, False)]}
    out.append(("overpay", l, s, l.rows[0][0] + 1))
    # 5. Early full repayment mid-period (17 days into the second period).
    l = Loan("ANNUITY", 40_000_000, 4500, 6, D(2026, 1, 20))
    s = {l.rows[0][0]: [(lambda l, d: l.row_total_due(d), False)],
         l.rows[0][0] + 17: [(lambda l, d: l.payoff(d) + 500, True)]}
    out.append(("early_full", l, s, l.rows[0][0] + 19))
    # 6. Partial early repayment mid-period, then the rebuilt rows on time.
    l = Loan("ANNUITY", 60_000_000, 4200, 6, D(2026, 5, 31))
    s = {l.rows[0][0]: [(lambda l, d: l.row_total_due(d), False)],
         l.rows[0][0] + 11: [(lambda l, d: 20_000_000, True)]}
    for r in l.rows[1:]:
        s[r[0]] = [(lambda l, d: l.row_total_due(d), False)]
    out.append(("early_part", l, s, l.rows[-1][0] + 1))
    # 7. A single payment of 30 days: partial early on day 10, late by 3.
    l = Loan("SINGLE", 5_000_000, 10900, 30, D(2026, 2, 20))
    s = {dn(D(2026, 3, 2)): [(lambda l, d: 2_000_000, True)],
         l.rows[0][0] + 3: [(lambda l, d: l.payoff(d), False)]}
    out.append(("single", l, s, l.rows[0][0] + 4))
    # 8. Differentiated, partial early repayment on a due date.
    l = Loan("DIFFERENTIATED", 9_000_001, 2400, 5, D(2026, 1, 31))
    s = {l.rows[0][0]: [(lambda l, d: l.row_total_due(d) + 3_000_000, True)]}
    out.append(("early_diff", l, s, l.rows[0][0] + 1))
    # 9. A monthly loan unpaid for 16 months: the cap reached in the first
    #    contract year and again in the second; 120 days late, a payment
    #    of the overdue debt and 30,000 more goes, in the late order, to the
    #    current row before the penalty; finally repaid early in full.
    l = Loan("ANNUITY", 1_200_000, 0, 24, D(2026, 1, 10))
    s = {l.rows[4][0]: [(lambda l, d: sum(i[1] + i[2] for i in l.inst if i[0] < d)
                         + 30_000, False)],
         l.rows[0][0] + 500: [(lambda l, d: l.payoff(d), True)]}
    out.append(("year_roll", l, s, l.rows[0][0] + 501))
    # 10. The first instalment unpaid, a deferral of 2 months 10 days into
    #     the delay, then repaid early in full 20 days later: the payoff
    #     pays the penalty, the carried interest, the interest to the day
    #     and the principal, and closes.
    l = Loan("ANNUITY", 30_000_000, 3600, 4, D(2026, 1, 10))
    r = l.rows[0][0] + 10
    s = {r + 20: [(lambda l, d: l.payoff(d), True)]}
    out.append(("restr_full", l, s, r + 22, (r, "deferral", 2)))
    # 11. A deferral of 1 month; 10 days on an early payment one tiyn short
    #     of the penalty, the carried interest and the interest to the day
    #     is handed back (the carried part stays owed); the next day one
    #     of 10,000,000 pays them and lowers the principal; the rebuilt rows
    #     are paid on time to the end.
    l = Loan("DIFFERENTIATED", 30_000_000, 3600, 4, D(2026, 2, 10))
    r = l.rows[0][0] + 5
    s = {r + 10: [(lambda l, d: l.pen_due + l.carried + l.to_day(d) - 1, True)],
         r + 11: [(lambda l, d: 10_000_000, True)]}
    out.append(("restr_part", l, s, r + 200, (r, "deferral", 1)))
    # 12. A longer term (6 rows) 3 days into the delay, the new rows paid on
    #     time: the carried interest falls due with the first and is paid
    #     with it, the loan closes to the tiyn.
    l = Loan("ANNUITY", 20_000_000, 3600, 3, D(2026, 3, 5))
    r = l.rows[0][0] + 3
    out.append(("restr_term", l, {}, r + 200, (r, "term", 6)))
    # 13. An annuity deferred 2 months 5 days into the delay, repaid early in
    #     full 45 days later: the payoff is the penalty, the carried
    #     interest, the principal and 45 days' interest of the 3-month
    #     first period (3 months' interest in proportion to the days).
    l = Loan("ANNUITY", 24_000_000, 3000, 6, D(2026, 6, 30))
    r = l.rows[0][0] + 5
    s = {r + 45: [(lambda l, d: l.payoff(d), True)]}
    out.append(("restr_45_full", l, s, r + 47, (r, "deferral", 2)))
    # 14. The same deferral of 3 months, a partial early repayment of
    #     8,000,000 tiyn 45 days in: the interest to the day is the 4-month
    #     period's share, the first rebuilt row's interest runs from the
    #     payment to its due date by the same rule; then on time to the end.
    l = Loan("ANNUITY", 24_000_000, 3000, 6, D(2026, 6, 30))
    r = l.rows[0][0] + 5
    s = {r + 45: [(lambda l, d: l.pen_due + 8_000_000, True)]}
    out.append(("restr_45_part", l, s, r + 300, (r, "deferral", 3)))
    return out


def main():
    cases, pays, checks, rows, restrs = [], [], [], [], []
    for name, loan, script, until, *restr in scenarios():
        cases.append((name, loan.method, loan.p, loan.bp, len(loan.sched)
                      if loan.method != "SINGLE" else (loan.sched[0][0] - loan.ps),
                      loan.ps))
        p, c, r, x = run(name, loan, script, until, restr[0] if restr else None)
        pays += p
        checks += c
        rows += r
        restrs += x
    with open(os.path.join(HERE, "servicing_cases.inc"), "w") as f:
        f.write("/* Generated by servicing_expected.py; do not edit. */\n")
        f.write("static const struct sv_case sv_cases[] = {\n")
        for name, m, p, bp, n, start in cases:
            f.write(f'\t{{ "{name}", SCHEDULE_{m}, {p}, {bp}, {n}, {start} }},\n')
        f.write("};\nstatic const struct sv_pay sv_pays[] = {\n")
        for name, d, amount, early, s, nn in pays:
            f.write(f'\t{{ "{name}", {d}, {amount}, {early}, {{ {s["po"]}, {s["io"]}, '
                    f'{s["pen"]}, {s["pc"]}, {s["ic"]}, {s["itd"]}, {s["pe"]}, '
                    f'{s["over"]}, {s["ev"]} }}, {nn} }},\n')
        f.write("};\nstatic const struct sv_check sv_checks[] = {\n")
        for name, d, ev, st in checks:
            vals = ", ".join(str(v) for v in st)
            f.write(f'\t{{ "{name}", {d}, {ev}, {{ {vals} }} }},\n')
        f.write("};\nstatic const struct sv_new_row sv_new_rows[] = {\n")
        for name, k, due, pp, ii in rows:
            f.write(f'\t{{ "{name}", {k}, {due}, {pp}, {ii} }},\n')
        f.write("};\nstatic const struct sv_restructure sv_restructures[] = {\n")
        for name, d, kind, k, carried, n in restrs:
            f.write(f'\t{{ "{name}", {d}, RESTRUCTURE_{kind.upper()}, {k}, {carried}, {n} }},\n')
        f.write("};\n")


if __name__ == "__main__":
    main()
