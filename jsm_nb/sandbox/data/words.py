"""The words the sandbox's generator draws from: names, organisations, and what people write.

Customers and agents get names from :data:`FIRST_NAMES` and :data:`LAST_NAMES`; request
descriptions and comments are put together from the phrases here.
"""

from __future__ import annotations

from .catalogue import (
    CANCELED,
    DECLINED,
    IN_PROGRESS,
    RESOLVED,
    WAITING_FOR_APPROVAL,
    WAITING_FOR_CUSTOMER,
    WAITING_FOR_SUPPORT,
)

__all__ = [
    "COMMENT_OPENERS",
    "DESCRIPTION_EXTRA",
    "DESCRIPTION_WHEN",
    "DESCRIPTION_WHO",
    "FIRST_NAMES",
    "FOLLOW_UPS",
    "INTERNAL_NOTES",
    "LAST_NAMES",
    "ORG_NAMES",
    "STEP_COMMENTS",
    "TIME_ZONES",
]

# fmt: off
FIRST_NAMES = (
    "Aisha", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kavya", "Liam", "Mei", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Chloe", "Diego",
    "Emeka", "Freya", "Gabriel", "Hana", "Ivan", "Julia", "Kofi", "Lucia", "Mateo", "Noor",
    "Olga", "Pedro", "Rahul", "Sofia", "Tomas", "Uma", "Viktor", "Yara",
)
LAST_NAMES = (
    "Abbott", "Bauer", "Castillo", "Dubois", "Eriksen", "Fernandes", "Gallagher", "Haddad",
    "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov",
    "Quinn", "Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Walsh", "Xu", "Yilmaz",
    "Zhang", "Andersen", "Brennan", "Costa", "Devlin", "Esposito", "Fischer", "Gupta",
    "Hughes", "Iqbal", "Kaur", "Lopez", "Murphy", "Nowak", "O'Brien", "Patel", "Reyes",
    "Santos", "Thompson", "Vasquez", "Weber", "Young",
)
ORG_NAMES = (
    "Northwind Traders", "Blue Harbor Logistics", "Cedar & Pine Legal", "Summit Dental Group",
    "Brightline Energy", "Kestrel Analytics", "Maple Street Bakery", "Orion Freight",
    "Harbourview Hotels", "Quarry Lane Architects", "Silverleaf Insurance", "Tidewater Marine",
    "Redwood Clinics", "Lumen Schools Trust", "Granite Peak Outdoor", "Copperfield Media",
    "Everfresh Foods", "Atlas Robotics", "Pioneer Credit Union", "Juniper Fashion",
    "Halcyon Travel", "Ironbridge Engineering", "Meadowbrook Farms", "Nimbus Cloud Hosting",
)
TIME_ZONES = (
    "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "America/Sao_Paulo", "Australia/Sydney", "Asia/Kolkata",
    "Asia/Singapore", "Asia/Tokyo", "Africa/Johannesburg",
)
COMMENT_OPENERS = ("Hi", "Hello", "Morning")
DESCRIPTION_WHEN = (
    "this morning", "yesterday afternoon", "after the last update", "on Monday",
    "a few days ago", "when I came back from leave",
)
DESCRIPTION_WHO = (
    "just me", "my whole team", "a customer demo tomorrow", "three people in my team",
    "our month-end close",
)
DESCRIPTION_EXTRA = (
    "I've already tried restarting.", "Screenshots available on request.",
    "This is blocking my work today.", "Not urgent, but it would be great to sort this week.",
    "My manager is aware.", "Happy to jump on a call.",
)
FOLLOW_UPS = (
    "Any update on this?", "This is still happening for me.",
    "Adding a colleague who sees the same thing.", "Thanks, that worked.",
)
INTERNAL_NOTES = (
    "Checked the logs, nothing obvious yet.", "Escalated to second line for a look.",
    "Vendor ticket raised, waiting on them.", "Same issue as last month, see linked KB.",
)
# Public comments at workflow steps: (from, to) -> (author, text).
STEP_COMMENTS = {
    (WAITING_FOR_SUPPORT, IN_PROGRESS):
        ("agent", "{greeting} thanks for getting in touch. I'm looking into this now."),
    (IN_PROGRESS, WAITING_FOR_CUSTOMER):
        ("agent", "{greeting} could you send a screenshot and tell us when this last worked?"),
    (WAITING_FOR_CUSTOMER, IN_PROGRESS):
        ("customer", "Here are the details you asked for. Let me know if you need more."),
    (IN_PROGRESS, RESOLVED):
        ("agent", "This should be sorted now. Reply here if it comes back and we'll reopen it."),
    (WAITING_FOR_SUPPORT, CANCELED): ("customer", "No longer needed, thanks."),
    (WAITING_FOR_APPROVAL, DECLINED): ("agent", "Sorry, this request was not approved."),
}
# fmt: on
