"""A claim's terms: what a statement in words promises, in a form the `claim` rule can check.

"20 % auf alle Winterjacken" is ClaimTerms(type="discount", percent=20, scope=["Winterjacken"]);
"Versandkostenfrei ab 49 €" is ClaimTerms(type="shipping", threshold=49, currency="EUR");
"nur online" beside a product is ClaimTerms(type="exclusivity", exclusivity="online_only", product=<key>).
The channel adapters parse them (channels/claim_terms.py); the catalog stores them as JSON.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ClaimType = Literal["discount", "shipping", "exclusivity", "payment", "service"]
# a shop's promotion (Merchant Promotions feed; a feed item's promotion_id): no promise of its own,
# the reference for discount claims (what the shop grants, to which products, where, when)
TermsType = Literal["discount", "shipping", "exclusivity", "payment", "service", "promotion"]
Exclusivity = Literal["online_only", "store_only", "all_stores"]
ClaimChannel = Literal["shop", "store"]

# payment methods and services the parser knows; the project config names the shop's real ones
PAYMENT_METHODS = ("invoice", "installments", "paypal", "klarna", "credit_card", "direct_debit", "prepayment",
                   "cash_on_delivery", "apple_pay", "google_pay")
SERVICES = ("click_collect", "free_returns", "made_in_germany", "reserve_online", "express_delivery", "assembly")


class ClaimTerms(BaseModel):
    """The checkable content of one claim. Fields not stated stay empty: the rule never guesses them."""

    model_config = ConfigDict(extra="forbid")

    type: TermsType
    percent: Decimal | None = None  # discount: "20 %"
    amount: Decimal | None = None  # discount: money off ("10 € auf alle Schuhe")
    currency: str | None = None  # of amount and threshold
    up_to: bool = False  # "bis zu 30 %", "up to 30 %": at least one offer reaches it, none exceeds it
    scope: list[str] = Field(default_factory=list)  # the words naming what is reduced ("Winterjacken")
    everything: bool = False  # "alles", "auf das gesamte Sortiment", "sitewide"
    selected: bool = False  # "ausgewählte", "selected": no promise about every offer in scope
    channels: list[ClaimChannel] = Field(default_factory=list)  # the channels it names; empty = not named
    exclusivity: Exclusivity | None = None  # "nur online", "nur im Markt", "in allen Filialen"
    threshold: Decimal | None = None  # shipping: free from this order value (0: free on every order)
    charged_on: Decimal | None = None  # shipping, a feed's evidence: an order of this value is charged `fee`
    fee: Decimal | None = None
    methods: list[str] = Field(default_factory=list)  # payment methods or services (PAYMENT_METHODS, SERVICES)
    product: str | None = None  # a claim inside a product block: that product's key (sku, else gtin, else link)
    # promotion: its id; the products it applies to (with everything: all). Filters of one kind
    # are alternatives, filters of several kinds must all match; exclusions win; `items` also
    # holds the feed items naming the promotion_id. threshold: its minimum purchase amount.
    promotion_id: str | None = None
    items: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    product_types: list[str] = Field(default_factory=list)
    not_items: list[str] = Field(default_factory=list)
    not_brands: list[str] = Field(default_factory=list)
    not_product_types: list[str] = Field(default_factory=list)
    stores: list[str] = Field(default_factory=list)  # in-store redemption: only these store codes
