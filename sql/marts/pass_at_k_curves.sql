-- pass@k against k for every evaluated model: one row per eval set, model and k (1, 2, 4, ..., n).
-- model_label names the model for a legend: base / teacher / "student <method> tau=.. lam=.. seed=.." (from the
-- trace set it was distilled from); two models of one eval set with the same label get "#<end of model_id>".
-- param: eval_set_id = latest   (an eval set id; latest: the eval set evaluated last (ops.runs); empty: every one)
with trace_sets as (
    select distinct trace_set_id, method, tau, lam, seed
    from downstream.traces
),

labels as (
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
),

latest as (
    select p.eval_set_id
    from eval.pass_at_k as p
    left join ops.runs as r on r.run_id = p.run_id
    order by r.finished_at desc nulls last, p.run_id desc, p.eval_set_id desc
    limit 1
),

pass_at_k as (
    select p.eval_set_id, p.model_id, p.k, p.n_samples, p.n_problems, p.pass_at_k
    from eval.pass_at_k as p
    cross join latest as l
    where :eval_set_id = ''
        or p.eval_set_id = :eval_set_id
        or (:eval_set_id = 'latest' and p.eval_set_id = l.eval_set_id)
),

named as (
    select
        m.eval_set_id,
        m.model_id,
        coalesce(l.role, 'unknown') as role,
        coalesce(l.label, m.model_id) as label,
        count(*) over (partition by m.eval_set_id, coalesce(l.label, m.model_id)) as n_same_label
    from (select distinct eval_set_id, model_id from pass_at_k) as m
    left join labels as l on l.model_id = m.model_id
),

final as (
    select
        p.eval_set_id,
        n.role,
        case
            when n.n_same_label > 1 then concat(n.label, ' #', right(n.model_id, 6))
            else n.label
        end as model_label,
        p.k,
        round(p.pass_at_k, 4) as pass_at_k,
        p.n_samples,
        p.n_problems,
        p.model_id
    from pass_at_k as p
    join named as n on n.eval_set_id = p.eval_set_id and n.model_id = p.model_id
)

select * from final
order by eval_set_id, case role when 'base' then 0 when 'teacher' then 1 else 2 end, model_label, k
