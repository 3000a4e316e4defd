"""The service desks every sandbox site holds, as a catalogue.

Each desk has its request types (with the summaries customers write), two portal fields,
its agent queues and its agents. :mod:`.generate` turns the catalogue into a site's
records, with site-wide ids.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "DESKS",
    "DESK_AGENTS",
    "QUEUE_FIELDS",
    "QUEUE_RULES",
    "DeskSpec",
    "FieldSpec",
    "TypeSpec",
]


class FieldSpec(NamedTuple):
    """A portal field of a desk; values come from ``choices``, ``select`` marks a select list."""

    field_id: str
    label: str
    choices: tuple[str, ...]
    select: bool


class TypeSpec(NamedTuple):
    """A request type: ``issue_type`` is a key of ``ISSUE_TYPES``, ``group`` a portal group."""

    name: str
    description: str
    issue_type: str
    group: int
    weight: float
    summaries: tuple[str, ...]
    approval: bool = False


class DeskSpec(NamedTuple):
    """A service desk; ``weight`` is its share of a site's requests, ``queues`` queue kinds."""

    key: str
    name: str
    weight: float
    business_hours: bool
    groups: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    queues: tuple[str, ...]
    types: tuple[TypeSpec, ...]


_ALL_QUEUES = ("open", "mine", "unassigned", "waiting", "breached", "recent")
_T = TypeSpec
_F = FieldSpec

# fmt: off
DESKS = (
    DeskSpec(
        "ITH", "IT Help", 0.45, False,
        ("Common requests", "Hardware and access", "Report a problem"),
        (
            _F("customfield_10050", "Operating system",
               ("Windows 11", "macOS 15", "macOS 14", "Ubuntu 24.04", "iOS", "Android"), True),
            _F("customfield_10051", "Asset tag", tuple(f"LT-{n:05d}" for n in range(40)), False),
        ),
        _ALL_QUEUES,
        (
            _T("Get IT help", "Ask for help with software, email or anything IT.",
               "service", 0, 0.30,
               ("Outlook keeps asking for my password", "Can't open shared Excel workbook",
                "Teams camera not detected", "Need Adobe Acrobat Pro licence",
                "Printer on 3rd floor shows offline", "Calendar invites not syncing to phone",
                "Laptop very slow after update", "OneDrive stuck on 'processing changes'")),
            _T("Fix an account problem", "Locked out, password expired or MFA trouble.",
               "service", 0, 0.18,
               ("Account locked after password change", "MFA prompt never arrives",
                "Password expired while on leave", "Can't sign in to Salesforce",
                "New phone, need to move authenticator")),
            _T("Request a new laptop", "Replacement or new-starter laptops; your manager approves.",
               "approval", 1, 0.08,
               ("Replacement laptop: battery swelling", "Laptop for new starter in Finance",
                "Upgrade to 32 GB laptop for data work", "Cracked screen, need loan laptop"),
               approval=True),
            _T("Request admin access", "Temporary local admin or elevated access; needs approval.",
               "approval", 1, 0.07,
               ("Local admin to install Python tooling", "Admin access to Jira project settings",
                "Temporary admin for driver install", "Access to production read replica"),
               approval=True),
            _T("Set up VPN", "Get the VPN client installed and working.", "service", 1, 0.10,
               ("VPN disconnects every few minutes", "Install VPN client on new laptop",
                "VPN works at home but not at hotel", "Split tunnelling for video calls")),
            _T("Get a guest wifi account", "Wifi access for visitors.", "service", 0, 0.07,
               ("Guest wifi for auditors next week", "Wifi voucher for visiting client",
                "Guest network password not working")),
            _T("Report a system problem", "Something is broken for several people.",
               "incident", 2, 0.20,
               ("Email delivery delayed for everyone", "Shared drive unavailable",
                "SSO login page returns error 500", "Office wifi dropping in meeting rooms",
                "Payroll system very slow", "Intranet search returns nothing")),
        ),
    ),
    DeskSpec(
        "HR", "HR Services", 0.15, True, ("People changes", "Pay and leave", "Questions"),
        (
            _F("customfield_10060", "Department",
               ("Finance", "Sales", "Engineering", "Operations", "Marketing", "Legal"), True),
            _F("customfield_10061", "Employee ID", tuple(f"E{n:06d}" for n in range(60)), False),
        ),
        ("open", "mine", "unassigned", "waiting", "recent"),
        (
            _T("Onboard new employees", "Start onboarding for a new hire; needs approval.",
               "approval", 0, 0.16,
               ("Onboarding: new account executive", "Onboarding: two graduate engineers",
                "Onboarding: contractor for 6 months", "New starter in Legal on Monday"),
               approval=True),
            _T("Offboard employees", "Leavers: equipment, access and final pay.",
               "service", 0, 0.10,
               ("Leaver: last day Friday", "Offboarding for fixed-term contract end",
                "Remove access for departing manager")),
            _T("Request time off", "Leave outside the usual allowance; your manager approves.",
               "approval", 1, 0.18,
               ("Unpaid leave in December", "Parental leave dates", "Compassionate leave",
                "Sabbatical request"),
               approval=True),
            _T("Ask a pay question", "Payslips, expenses and deductions.", "service", 1, 0.22,
               ("Overtime missing from payslip", "Tax code looks wrong",
                "Expense claim not reimbursed", "Pension contribution change")),
            _T("Update personal details", "Address, bank account or emergency contact.",
               "service", 0, 0.14,
               ("Change of address", "New bank details for salary", "Update emergency contact",
                "Legal name change")),
            _T("Ask an HR question", "Policies, benefits and anything else.", "service", 2, 0.20,
               ("Hybrid working policy question", "How do I enrol in the cycle scheme?",
                "Training budget for conference", "Probation review process")),
        ),
    ),
    DeskSpec(
        "FAC", "Facilities", 0.10, True, ("Workplace", "Building issues"),
        (
            _F("customfield_10070", "Building",
               ("North Tower", "South Tower", "Riverside", "Warehouse"), True),
            _F("customfield_10071", "Floor and room",
               tuple(f"Floor {f}, room {f}{r:02d}" for f in range(1, 7) for r in range(1, 6)),
               False),
        ),
        ("open", "unassigned", "waiting", "breached"),
        (
            _T("Report a building issue", "Heating, lighting, leaks and doors.",
               "incident", 1, 0.35,
               ("Air conditioning not working", "Water leak near kitchen",
                "Lights flickering in open plan", "Door badge reader broken",
                "Lift out of service")),
            _T("Request a desk move", "Move desks or change a team's area.", "service", 0, 0.20,
               ("Move team of 6 to 4th floor", "Standing desk request", "Monitor arm for desk")),
            _T("Book a meeting room setup", "Furniture and AV for events.", "service", 0, 0.20,
               ("Town hall setup for 120 people", "Board room AV check",
                "Catering for client workshop")),
            _T("Report a cleaning issue", "Spills, bins and washrooms.", "service", 1, 0.15,
               ("Bins not emptied", "Spill in reception", "Washroom out of supplies")),
            _T("Request parking access", "A parking permit; needs approval.", "approval", 0, 0.10,
               ("Parking permit for new starter", "Accessible parking space", "EV charger access"),
               approval=True),
        ),
    ),
    DeskSpec(
        "CS", "Customer Support", 0.30, False, ("Product help", "Billing"),
        (
            _F("customfield_10080", "Product",
               ("Web app", "Mobile app", "Public API", "Reporting add-on"), True),
            _F("customfield_10081", "Order number", tuple(f"SO-{n:06d}" for n in range(80)), False),
        ),
        _ALL_QUEUES,
        (
            _T("Report a bug", "Something in the product does not work as it should.",
               "incident", 0, 0.28,
               ("Export to CSV drops the last row", "Dashboard widgets fail to load",
                "Mobile app crashes on login", "API returns 500 for large pages",
                "Time zone wrong on scheduled reports", "Search ignores accented characters")),
            _T("Ask a product question", "How do I do something in the product?",
               "service", 0, 0.25,
               ("How to set up SSO for our team?", "Can we change the fiscal year start?",
                "Bulk import users from CSV", "Where do I find the audit log?")),
            _T("Billing enquiry", "Invoices, payment methods and plans.", "service", 1, 0.18,
               ("Invoice shows wrong VAT number", "Switch to annual billing",
                "Card payment declined", "Need a copy of last year's invoices")),
            _T("Request a refund", "Refunds need approval from the billing lead.",
               "approval", 1, 0.07,
               ("Refund for duplicate charge", "Refund unused seats", "Refund after downgrade"),
               approval=True),
            _T("Account access problem", "Can't sign in, or need an owner changed.",
               "service", 0, 0.14,
               ("Account owner left the company", "Password reset email not received",
                "Locked out after too many attempts")),
            _T("Feature request", "Tell us what the product should do next.", "service", 0, 0.08,
               ("Dark mode for the web app", "Webhook on status change",
                "Custom fields on reports", "Export dashboards to PDF")),
        ),
    ),
)
QUEUE_FIELDS = (
    "issuetype", "issuekey", "summary", "reporter", "assignee", "status", "priority", "created",
)
QUEUE_RULES = {
    "open": ("All open", "resolution = Unresolved ORDER BY created ASC"),
    "mine": ("Assigned to me",
             "assignee = currentUser() AND resolution = Unresolved ORDER BY created ASC"),
    "unassigned": ("Unassigned",
                   "assignee is EMPTY AND resolution = Unresolved ORDER BY created ASC"),
    "waiting": ("Waiting for customer", 'status = "Waiting for customer" ORDER BY created ASC'),
    "breached": ("SLA breached", '"Time to resolution" = breached() AND resolution = Unresolved'
                 " ORDER BY created ASC"),
    "recent": ("Resolved in the last 7 days", "resolved >= -7d ORDER BY created DESC"),
}
# Desk agents by desk key, as user indices (0 is the analyst).
DESK_AGENTS = {"ITH": (0, 1, 2, 3, 4), "HR": (5, 6), "FAC": (7, 8, 1), "CS": (0, 9, 10, 11)}
# fmt: on
