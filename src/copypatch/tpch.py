"""TPC-H's lineitem, generated inside PostgreSQL, and queries Q1 and Q6 over it.

The table has TPC-H's columns and PostgreSQL's own types (numeric(15,2), date, char(1)), filled
by one ``INSERT ... SELECT FROM generate_series`` with dbgen's distributions (TPC-H 2.18,
section 4.2.3): l_quantity uniform in 1..50, l_discount in 0.00..0.10, l_tax in 0.00..0.08,
l_extendedprice the quantity times the part's retail price, o_orderdate uniform in
1992-01-01..1998-08-02 (shared by an order's lines), l_shipdate 1..121 days after it,
l_commitdate 30..90 days, l_receiptdate 1..30 days after shipping, l_returnflag 'R' or 'A'
for lines received by 1995-06-17 (dbgen's CURRENTDATE) and 'N' after, l_linestatus 'F' for
lines shipped by then and 'O' after. Random numbers are hashes of the row number
(``hashint8``): the same table in every cluster, with no random state. Scale factor 1 is
6,000,000 rows (dbgen: 6,001,215), so the default 0.01 is 60,000.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Q1", "Q6", "QUERIES", "TABLE", "create_lineitem", "lineitem_rows"]

TABLE = "lineitem"
ROWS_PER_SF = 6_000_000
LINES_PER_ORDER = 4  # dbgen draws 1..7 per order: 4 on average

#: TPC-H Q1, the pricing summary report (DELTA = 90, the validation value)
Q1 = """\
SELECT l_returnflag, l_linestatus,
       sum(l_quantity) AS sum_qty,
       sum(l_extendedprice) AS sum_base_price,
       sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
       avg(l_quantity) AS avg_qty,
       avg(l_extendedprice) AS avg_price,
       avg(l_discount) AS avg_disc,
       count(*) AS count_order
FROM lineitem
WHERE l_shipdate <= date '1998-12-01' - interval '90' day
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus"""

#: TPC-H Q6, the forecasting revenue change (DATE 1994-01-01, DISCOUNT 0.06, QUANTITY 24)
Q6 = """\
SELECT sum(l_extendedprice * l_discount) AS revenue
FROM lineitem
WHERE l_shipdate >= date '1994-01-01'
  AND l_shipdate < date '1994-01-01' + interval '1' year
  AND l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01
  AND l_quantity < 24"""

QUERIES: dict[str, str] = {"tpch_q1": Q1, "tpch_q6": Q6}

_COLUMNS = """\
    l_orderkey int8 NOT NULL,
    l_partkey int4 NOT NULL,
    l_suppkey int4 NOT NULL,
    l_linenumber int4 NOT NULL,
    l_quantity numeric(15,2) NOT NULL,
    l_extendedprice numeric(15,2) NOT NULL,
    l_discount numeric(15,2) NOT NULL,
    l_tax numeric(15,2) NOT NULL,
    l_returnflag char(1) NOT NULL,
    l_linestatus char(1) NOT NULL,
    l_shipdate date NOT NULL,
    l_commitdate date NOT NULL,
    l_receiptdate date NOT NULL,
    l_shipinstruct char(25) NOT NULL,
    l_shipmode char(10) NOT NULL,
    l_comment varchar(44) NOT NULL"""


def _u(key: str, stream: int, n: int) -> str:
    """SQL for a uniform integer in 0..n-1: a hash of the key and a stream number."""
    return f"((hashint8({key} * 32 + {stream}) & 2147483647) % {n})"


def lineitem_rows(sf: float) -> int:
    """The number of rows at scale factor ``sf`` (at least one)."""
    if not sf > 0:
        raise ValueError(f"the scale factor must be positive, not {sf!r}")
    return max(1, round(ROWS_PER_SF * sf))


def create_sql(sf: float) -> list[str]:
    """The statements that (re)create and fill lineitem at scale factor ``sf``."""
    n = lineitem_rows(sf)
    parts = max(1, round(200_000 * sf))
    supps = max(1, round(10_000 * sf))
    okey = f"((i - 1) / {LINES_PER_ORDER} + 1)"
    # dbgen: o_orderdate in [STARTDATE, ENDDATE - 151 days]; the part's retail price
    # (90000 + (p/10) % 20001 + 100 * (p % 1000)) / 100
    odate = f"(date '1992-01-01' + {_u(okey, 0, 2405)}::int4)"
    partkey = f"({_u('i', 1, parts)} + 1)"
    select = f"""\
SELECT okey, partkey, {_u('i', 2, supps)} + 1, lnum,
       qty, qty * (90000 + (partkey / 10) % 20001 + 100 * (partkey % 1000)) / 100,
       {_u('i', 3, 11)} / 100.0, {_u('i', 4, 9)} / 100.0,
       CASE WHEN ship + {_u('i', 5, 30)}::int4 + 1 <= date '1995-06-17'
            THEN (ARRAY['R', 'A'])[{_u('i', 6, 2)} + 1] ELSE 'N' END,
       CASE WHEN ship > date '1995-06-17' THEN 'O' ELSE 'F' END,
       ship, odate + {_u('i', 7, 61)}::int4 + 30, ship + {_u('i', 5, 30)}::int4 + 1,
       (ARRAY['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])
           [{_u('i', 8, 4)} + 1],
       (ARRAY['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'])[{_u('i', 9, 7)} + 1],
       'line ' || i
FROM (SELECT i, okey, partkey, lnum, qty, odate, odate + {_u('i', 10, 121)}::int4 + 1 AS ship
      FROM (SELECT i, {okey} AS okey, {partkey} AS partkey,
                   (i - 1) % {LINES_PER_ORDER} + 1 AS lnum,
                   ({_u('i', 11, 50)} + 1)::numeric AS qty, {odate} AS odate
            FROM generate_series(1::int8, {n}::int8) AS i) AS g) AS h"""
    return [
        f"DROP TABLE IF EXISTS {TABLE}",
        f"CREATE TABLE {TABLE} (\n{_COLUMNS})",
        f"INSERT INTO {TABLE}\n{select}",
        f"VACUUM (FREEZE, ANALYZE) {TABLE}",
    ]


def create_lineitem(conn: Any, sf: float = 0.01) -> int:
    """(Re)create lineitem at scale factor ``sf`` through a psycopg connection (autocommit);
    returns its number of rows."""
    with conn.cursor() as cur:
        for stmt in create_sql(sf):
            cur.execute(stmt)
    return lineitem_rows(sf)
