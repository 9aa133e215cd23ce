"""A shipping claim ("Versandkostenfrei ab 49 €") against its reference: what the shop feed says
(its shipping claims, channels/shop_shipping.py), else `claims.free_shipping_threshold` in unisono.yaml.

- the feed charges shipping on an item whose order value reaches the claimed threshold: refuted,
  whatever else is known ("the shop feed charges 4.95 EUR shipping on 100203 at 59.99 EUR");
- the feed states thresholds (free_shipping_threshold, or a free g:shipping entry with a
  min_order_value): the claim holds when it names the one the feed states;
- else the config's threshold;
- else an item of the feed shipping free at an order value reaching the claimed threshold: the claim
  holds as far as the feed shows (no item from there on is charged); without any of these the claim
  is undecided.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from unisono.rules.claim_live import Claim

CONFIG_KEY = "claims.free_shipping_threshold"


@dataclass
class Refuted:
    words: str  # "the shop charges shipping below 50.00 EUR (claims.free_shipping_threshold)"
    shop_value: str  # what the shop's side shows, for the finding's values
    reference: str  # where the reference comes from
    sources: list[str]


def judge(claimed: tuple[Decimal, str], feed: list[Claim], configured: Decimal | None,
          currency: str) -> Refuted | str | None:
    """None when the claim holds, a Refuted, or (a str) why it cannot be judged."""
    amount, cur = claimed
    reaching = [c for c in feed if c.terms.charged_on is not None and c.terms.currency == cur
                and c.terms.charged_on >= amount]  # items ordered at the claimed value or more
    charged = sorted((c for c in reaching if c.terms.fee), key=lambda c: -c.terms.charged_on)
    if charged:
        c = charged[0]
        value = f"{c.terms.fee:.2f} {cur} shipping at {c.terms.charged_on:.2f} {cur}"
        return Refuted(f"the shop feed charges {c.terms.fee:.2f} {cur} shipping on {c.terms.product} at "
                       f"{c.terms.charged_on:.2f} {cur} ({c.source})", value, f"shop feed {c.source}", [c.source])
    stated = [c for c in feed if c.terms.threshold is not None]
    if stated:
        other = [c for c in stated if (c.terms.threshold, c.terms.currency) != (amount, cur)]
        if not other:
            return None
        # one per value: free_shipping_threshold and a free g:shipping entry often say the same
        first: dict[tuple, Claim] = {}
        for c in other:
            first.setdefault((c.terms.threshold, c.terms.currency), c)
        other = list(first.values())
        return Refuted("the shop feed says " + "; ".join(f"{c.text.split(': ', 1)[1]} ({c.source})" for c in other[:3]),
                       ", ".join(_money(c.terms.threshold, c.terms.currency) for c in other[:3]),
                       f"shop feed {other[0].source}", [c.source for c in other[:3]])
    if configured is None and reaching:  # only items shipping free from there on
        return None
    if configured is None:
        return f"neither the shop feed (free_shipping_threshold, shipping) nor {CONFIG_KEY} in unisono.yaml says what the shop charges"
    if (amount, cur) == (configured, currency):
        return None
    real = _money(configured, currency)
    charges = f"the shop charges shipping below {real}" if configured else "the shop ships free on every order"
    return Refuted(f"{charges} ({CONFIG_KEY})", real, CONFIG_KEY, [])


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}" if amount else "free on every order"
