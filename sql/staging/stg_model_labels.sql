-- Staging (no parameters): every downstream.models row with a label for legends and tables: base / teacher /
-- "student <method> tau=.. lam=.. seed=.." (from the trace set it was distilled from) / "<role> (external)".
with trace_sets as (
    select distinct trace_set_id, method, tau, lam, seed
    from downstream.traces
)

select
    m.model_id,
    m.role,
    case
        when t.trace_set_id is not null then concat_ws(
            ' ',
            'student',
            t.method,
            concat('tau=', cast(t.tau as string)),
            concat('lam=', cast(t.lam as string)),
            concat('seed=', cast(t.seed as string))
        )
        when m.trained_on = 'external' then concat(m.role, ' (external)')
        else m.role
    end as label
from downstream.models as m
left join trace_sets as t on m.trained_on = concat('traces:', t.trace_set_id)
