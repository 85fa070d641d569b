-- pass@k against k for every evaluated model: one row per eval set, model and k (1, 2, 4, ..., n).
-- model_label names the model for a legend: base / teacher / "student <method> tau=.. lam=.. seed=.." (from the
-- trace set it was distilled from); two models of one eval set with the same label get "#<end of model_id>".
-- param: eval_set_id = latest   (an eval set id; latest: the eval set evaluated last (ops.runs); empty: every one)
with pass_at_k as (
    select p.eval_set_id, p.model_id, p.k, p.n_samples, p.n_problems, p.pass_at_k
    from eval.pass_at_k as p
    cross join stg_latest_eval_set as l
    where :eval_set_id = ''
        or p.eval_set_id = :eval_set_id
        or (:eval_set_id = 'latest' and p.eval_set_id = l.eval_set_id)
),

final as (
    select
        p.eval_set_id,
        n.role,
        n.label as model_label,
        p.k,
        round(p.pass_at_k, 4) as pass_at_k,
        p.n_samples,
        p.n_problems,
        p.model_id
    from pass_at_k as p
    join stg_eval_model_labels as n on n.eval_set_id = p.eval_set_id and n.model_id = p.model_id
)

select * from final
order by eval_set_id, case role when 'base' then 0 when 'teacher' then 1 else 2 end, model_label, k
