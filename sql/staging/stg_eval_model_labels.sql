-- Staging (no parameters): every model evaluated in an eval set (eval.pass_at_k) with its role and a label unique
-- within that eval set: stg_model_labels' label, plus " #<end of model_id>" when two models of the set share it
-- (a full and a LoRA student of one trace set, teachers of two configs).
with evaluated as (
    select distinct eval_set_id, model_id
    from eval.pass_at_k
),

named as (
    select
        e.eval_set_id,
        e.model_id,
        coalesce(l.role, 'unknown') as role,
        coalesce(l.label, e.model_id) as label,
        count(*) over (partition by e.eval_set_id, coalesce(l.label, e.model_id)) as n_same_label
    from evaluated as e
    left join stg_model_labels as l on l.model_id = e.model_id
)

select
    eval_set_id,
    model_id,
    role,
    case when n_same_label > 1 then concat(label, ' #', right(model_id, 6)) else label end as label
from named
