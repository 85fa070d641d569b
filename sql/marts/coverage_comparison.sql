-- Solved-set overlap of every ordered pair of evaluated models (solved: one of the n samples correct, k = n):
-- one row per eval set, model_a and model_b, with their roles and labels (as in pass_at_k_curves).
-- "Is the student's solved set inside the teacher's?": role_a = student, role_b = teacher, then a_subset_of_b
-- (n_only_a = 0; only_a lists the problems the student solves and the teacher does not).
-- param: eval_set_id = latest   (an eval set id; latest: the eval set evaluated last (ops.runs); empty: every one)
-- param: role_a = any   (base | teacher | student; any: every role)
-- param: role_b = any   (base | teacher | student; any: every role)
with coverage as (
    select c.*
    from eval.coverage as c
    cross join stg_latest_eval_set as l
    where :eval_set_id = ''
        or c.eval_set_id = :eval_set_id
        or (:eval_set_id = 'latest' and c.eval_set_id = l.eval_set_id)
),

final as (
    select
        c.eval_set_id,
        c.k,
        a.role as role_a,
        a.label as label_a,
        b.role as role_b,
        b.label as label_b,
        c.n_a,
        c.n_b,
        c.n_both,
        c.n_only_a,
        c.n_only_b,
        c.a_subset_of_b,
        round(c.jaccard, 4) as jaccard,
        array_join(c.only_a, ' ') as only_a,
        c.model_a,
        c.model_b
    from coverage as c
    join stg_eval_model_labels as a on a.eval_set_id = c.eval_set_id and a.model_id = c.model_a
    join stg_eval_model_labels as b on b.eval_set_id = c.eval_set_id and b.model_id = c.model_b
    where (:role_a = 'any' or a.role = :role_a) and (:role_b = 'any' or b.role = :role_b)
)

select * from final
order by
    eval_set_id,
    case role_a when 'base' then 0 when 'teacher' then 1 else 2 end,
    label_a,
    case role_b when 'base' then 0 when 'teacher' then 1 else 2 end,
    label_b
