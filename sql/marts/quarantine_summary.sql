-- One row per (job, reason, input file) in ops.quarantine: what was refused, where, and one example.
-- param: job = ingest   (the job whose refusals to show)
with quarantine as (
    select job, reason, input_file, input_line, detail, raw_preview, quarantined_at
    from ops.quarantine
    where job = :job
),

final as (
    select
        job,
        reason,
        input_file,
        count(*) as n_records,
        min(input_line) as first_line,
        min_by(detail, input_line) as example_detail,
        min_by(raw_preview, input_line) as example_raw,
        max(quarantined_at) as last_quarantined_at
    from quarantine
    group by job, reason, input_file
)

select * from final order by n_records desc, reason, input_file
