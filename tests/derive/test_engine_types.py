"""Engine result types are normalised before conforming (Spark DECIMAL and zoned timestamps)."""

from __future__ import annotations

import decimal

import pyarrow as pa

from aftercar.derive.execute import _normalise


def test_spark_decimals_and_zoned_timestamps_take_duckdb_types():
    table = pa.table(
        {
            "months": pa.array([decimal.Decimal("1.5"), None], pa.decimal128(3, 1)),
            "count": pa.array([decimal.Decimal("2"), decimal.Decimal("3")], pa.decimal128(3, 0)),
            "at": pa.array([86_400_000_000, None], pa.timestamp("us", tz="UTC")),
            "kept": pa.array(["a", "b"]),
        }
    )
    out = _normalise(table)
    assert out.schema.types == [pa.float64(), pa.int64(), pa.timestamp("us"), pa.string()]
    assert out.column("months").to_pylist() == [1.5, None]
    assert out.column("count").to_pylist() == [2, 3]
    assert str(out.column("at")[0]) == "1970-01-02 00:00:00"
