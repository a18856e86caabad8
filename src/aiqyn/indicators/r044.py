"""R044 Bidders share contact details: bidders of one tender share an address, a phone, an email or a contact
person. Cardinal lists R044 without implementing it.
"""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    match_phone: bool = True
    """Compare telephone numbers (their digits, at least 6)."""
    match_email: bool = True
    """Compare email addresses (case-insensitive)."""
    match_address: bool = True
    """Compare street addresses with their locality (case and spacing ignored)."""
    match_contact_name: bool = False
    """Compare contact persons' names. Off by default: common names collide between unrelated companies; turn it
    on where names are full and reliable."""


INDICATOR = Indicator(
    code="R044",
    title="Bidders share contact details",
    subjects=("process", "tenderer"),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + """,
tenderers AS (
  SELECT DISTINCT t.ocid, t.party_id
  FROM procs p JOIN bids b ON b.ocid = p.ocid
    JOIN bid_tenderers t ON t.ocid = b.ocid AND t.bid_position = b.position
  WHERE b.status IS NOT NULL AND b.status NOT IN ('invited', 'withdrawn')
),
bidders_raw AS (
  SELECT t.ocid, t.party_id, coalesce(pt.subject_id, t.party_id) AS party_key,
    coalesce(pt.telephone, '') AS telephone, lower(trim(coalesce(pt.email, ''))) AS email,
    coalesce(pt.street_address, '') AS street_address, lower(trim(coalesce(pt.locality, ''))) AS locality,
    coalesce(pt.contact_name, '') AS contact_name
  FROM tenderers t JOIN parties pt ON pt.ocid = t.ocid AND pt.party_id = t.party_id
),
-- the regular expressions once per distinct text (a company bids in many processes)
phones AS (
  SELECT telephone, regexp_replace(telephone, '[^0-9]', '', 'g') AS phone
  FROM (SELECT DISTINCT telephone FROM bidders_raw) d
),
streets AS (
  SELECT street_address, lower(regexp_replace(trim(street_address), '\\s+', ' ', 'g')) AS street
  FROM (SELECT DISTINCT street_address FROM bidders_raw) d
),
contacts AS (
  SELECT contact_name, lower(regexp_replace(trim(contact_name), '\\s+', ' ', 'g')) AS contact
  FROM (SELECT DISTINCT contact_name FROM bidders_raw) d
),
bidders AS (
  SELECT DISTINCT r.ocid, r.party_id, r.party_key, ph.phone, r.email, st.street, r.locality, c.contact
  FROM bidders_raw r JOIN phones ph ON ph.telephone = r.telephone
    JOIN streets st ON st.street_address = r.street_address JOIN contacts c ON c.contact_name = r.contact_name
),
shared AS (
  SELECT a.ocid, a.party_key AS first, b.party_key AS second,
    ($match_phone AND length(a.phone) >= 6 AND a.phone = b.phone) AS phone,
    ($match_email AND a.email <> '' AND a.email = b.email) AS email,
    ($match_address AND a.street <> '' AND a.street = b.street AND a.locality = b.locality) AS address,
    ($match_contact_name AND a.contact <> '' AND a.contact = b.contact) AS contact_name
  FROM bidders a JOIN bidders b ON b.ocid = a.ocid AND a.party_key < b.party_key
),
pairs AS (SELECT * FROM shared WHERE phone OR email OR address OR contact_name)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, CAST(count(*) AS DOUBLE) AS value,
  to_json({'pairs': array_agg({'first': first, 'second': second, 'phone': phone, 'email': email,
                               'address': address, 'contact_name': contact_name} ORDER BY first, second)}) AS evidence
FROM pairs GROUP BY ocid
UNION ALL
SELECT 'tenderer', id, CAST(count(DISTINCT ocid) AS DOUBLE),
  to_json({'processes': array_sort(array_distinct(array_agg(ocid)))})
FROM (SELECT ocid, first AS id FROM pairs UNION ALL SELECT ocid, second FROM pairs) x
GROUP BY id""",
    methodology="""For each process, the distinct tenderers of its submitted bids (status other than invited or
withdrawn), as listed in `parties`. Two tenderers (different identities across processes) share contact details
when they have the same telephone number (digits only, at least 6), the same email, the same street address in
the same locality, or (with `match_contact_name`) the same contact person. A process with such a pair is flagged,
and so are both tenderers.""",
    example="""ТОО «Береке» and ТОО «Арман» both bid in one tender and both give +7 701 555 12 34 as their phone: the
process and both companies are flagged.""",
    why="""Independent competitors do not share a phone, an office or a contact person. Bidders that do are likely
one group bidding under several names to simulate competition (cover bids), or affiliates that should have
declared their link. Cardinal defines R044 (business similarities between suppliers) without implementing it.""",
    output="""The process (`OCID`) gets the number of pairs; each tenderer of a pair (`Tenderer`) the number of its
flagged processes. Evidence: the pairs and what they share.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: list of red flags (R044 Business similarities between "
               "suppliers)", "https://cardinal.readthedocs.io/en/latest/cli/indicators/index.html"),
        Source("OECD (2009), Guidelines for fighting bid rigging in public procurement: 'bids from different "
               "companies with the same address, phone or staff'", "https://www.oecd.org/competition/cartels/42851044.pdf"),
    ),
)
