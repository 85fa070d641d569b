"""The one Spark session builder: real Delta Lake, local by default, any master by config.

Tables are found by walking ``<lake>/<schema>/<table>/_delta_log`` and registered in the session catalog, so
``select * from bronze.documents`` works in any new process without knowing paths.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.config import SparkConfig
from jobs.jars import fetch_delta_jars

log = logging.getLogger(__name__)

LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_registered: dict[str, str] = {}  # name -> path this process registered (the session catalog is in-memory)


def build_session(cfg: SparkConfig | None = None, lake: str | None = None) -> SparkSession:
    """Get or create the process's Spark session with Delta's SQL extension and catalog.

    One session per process: a second call returns the same session (and registers ``lake``'s tables).
    """
    cfg = cfg or SparkConfig()
    # Executors' Python must be this interpreter, or workers start a Python without pyarrow/our packages.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    if cfg.master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    builder = (
        SparkSession.builder.master(cfg.master)
        .appName(cfg.app_name)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.driver.memory", cfg.driver_memory)
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}")
        .config("spark.sql.shuffle.partitions", str(cfg.shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", str(cfg.ui).lower())
        .config("spark.ui.showConsoleProgress", "false")  # the CLI draws its own progress with rich
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Spark 4.2 binds :name parameters while parsing, and Delta 4.4's parser wrapper drops them
        # (UNBOUND_SQL_PARAMETER). The analyzer-time binding still works, for parameters in literal positions.
        .config("spark.sql.legacy.parameterSubstitution.constantsOnly", "true")
    )
    if cfg.master.startswith("local"):
        # Delta reads its log with this many partitions; the default 50 is sized for clusters.
        builder = builder.config("spark.databricks.delta.snapshotPartitions", "2")
    builder = _with_delta_jars(builder, cfg)
    for key, value in cfg.conf.items():
        builder = builder.config(key, value)

    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if lake:
        register_lake_tables(spark, lake)
    return spark


def _with_delta_jars(builder: SparkSession.Builder, cfg: SparkConfig) -> SparkSession.Builder:
    if "spark.jars.packages" in cfg.conf or "spark.jars" in cfg.conf:
        return builder  # the user manages jars (e.g. a cluster image that already has Delta)
    if cfg.delta_jars == "packages":
        from delta import configure_spark_with_delta_pip

        return configure_spark_with_delta_pip(builder)
    jars_dir = None if cfg.delta_jars == "auto" else Path(cfg.delta_jars)
    jars = fetch_delta_jars(jars_dir)
    return builder.config("spark.jars", ",".join(str(p) for p in jars))


def list_lake_tables(spark: SparkSession, lake: str) -> list[str]:
    """Names ``schema.table`` of every Delta table under the lake (any Hadoop file system)."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    root = jvm.org.apache.hadoop.fs.Path(lake)
    fs = root.getFileSystem(conf)
    if not fs.exists(root):
        return []
    names = []
    for schema_status in fs.listStatus(root):
        if not schema_status.isDirectory() or schema_status.getPath().getName().startswith(("_", ".")):
            continue
        for table_status in fs.listStatus(schema_status.getPath()):
            table_path = table_status.getPath()
            if table_status.isDirectory() and fs.exists(jvm.org.apache.hadoop.fs.Path(table_path, "_delta_log")):
                names.append(f"{schema_status.getPath().getName()}.{table_path.getName()}")
    return sorted(names)


def register_lake_tables(spark: SparkSession, lake: str) -> list[str]:
    """Make every lake table reachable by name (``bronze.documents``) in this session's catalog."""
    names = list_lake_tables(spark, lake)
    for name in names:
        register_table(spark, lake, name)
    return names


def register_table(spark: SparkSession, lake: str, name: str) -> None:
    """Point ``name`` at ``<lake>/<schema>/<table>`` (re-pointing it if this process registered another lake)."""
    database, table = name.split(".")
    path = f"{lake.rstrip('/')}/{database}/{table}"
    if not _IDENT.match(database) or not _IDENT.match(table):
        log.warning("not registering %s: not a plain SQL identifier; read it by path", path)
        return
    if not spark.catalog.databaseExists(database):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")  # identifier checked above; DDL takes no params
    if _registered.get(name) == path and _table_resolves(spark, name):
        return
    # External table: dropping the catalog entry leaves the Delta files alone. An entry whose folder was deleted
    # (another lake, a test's tmp dir) no longer resolves and is replaced the same way.
    spark.sql(f"DROP TABLE IF EXISTS `{database}`.`{table}`")
    spark.catalog.createTable(name, path=path, source="delta")
    _registered[name] = path


def _table_resolves(spark: SparkSession, name: str) -> bool:
    from pyspark.errors import AnalysisException

    try:
        return spark.catalog.tableExists(name)
    except AnalysisException:  # the catalog entry points at a path that is no longer a Delta table
        return False
