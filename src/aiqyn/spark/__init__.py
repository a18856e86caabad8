"""The distributed path: the indicators, the risk score and the regional index on Apache Spark (docs/spark.md)."""
