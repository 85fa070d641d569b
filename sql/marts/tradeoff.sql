-- The antidistillation paper's Figure 1 as rows: one row per trace set (per eval set when eval_set_id is empty),
-- the teacher's accuracy on its own traces beside the accuracy of the student distilled from them. Temperature
-- sets (lam 0, one per tau of the grid) are the baseline; seed is a replicate (downstream.trace_seeds).
-- teacher_accuracy: mean(correct) of the set's traces (train problems). student_*: the set's student (role
-- student, trained_on traces:<trace_set_id>; the latest created if there are several) on the eval set: pass@1 and
-- pass@n (the largest k, k = n_samples); null until `mixlake distill` and `mixlake evaluate` have run.
-- teacher_pass_at_1 and base_pass_at_1 (the student's parent) on the same eval set, for reference.
-- Unrounded: jobs/tradeoff.py averages them over seeds.
-- param: eval_set_id = latest   (an eval set id; latest: the eval set evaluated last (ops.runs); empty: every one)
with trace_sets as (
    select
        trace_set_id,
        teacher_id,
        proxy_id,
        method,
        tau,
        top_p,
        lam,
        eps,
        seed,
        count(*) as n_traces,
        avg(cast(correct as double)) as teacher_accuracy
    from downstream.traces
    group by trace_set_id, teacher_id, proxy_id, method, tau, top_p, lam, eps, seed
),

students as (
    select
        model_id as student_id,
        parent_id as base_id,
        trained_on,
        row_number() over (partition by trained_on order by created_at desc, model_id desc) as recency
    from downstream.models
    where role = 'student'
),

eval_sets as (
    select distinct p.eval_set_id
    from eval.pass_at_k as p
    cross join stg_latest_eval_set as l
    where :eval_set_id = ''
        or p.eval_set_id = :eval_set_id
        or (:eval_set_id = 'latest' and p.eval_set_id = l.eval_set_id)
),

scores as (
    select
        p.eval_set_id,
        p.model_id,
        max(case when p.k = 1 then p.pass_at_k end) as pass_at_1,
        max_by(p.pass_at_k, p.k) as pass_at_n,
        max(p.n_samples) as n_samples
    from eval.pass_at_k as p
    join eval_sets as e on e.eval_set_id = p.eval_set_id
    group by p.eval_set_id, p.model_id
),

final as (
    select
        t.method,
        t.tau,
        t.lam,
        t.seed,
        t.n_traces,
        t.teacher_accuracy,
        st.pass_at_1 as student_pass_at_1,
        st.pass_at_n as student_pass_at_n,
        st.n_samples,
        te.pass_at_1 as teacher_pass_at_1,
        b.pass_at_1 as base_pass_at_1,
        t.top_p,
        t.eps,
        e.eval_set_id,
        t.trace_set_id,
        s.student_id,
        t.teacher_id,
        t.proxy_id,
        s.base_id
    from trace_sets as t
    cross join eval_sets as e
    left join students as s on s.trained_on = concat('traces:', t.trace_set_id) and s.recency = 1
    left join scores as st on st.eval_set_id = e.eval_set_id and st.model_id = s.student_id
    left join scores as te on te.eval_set_id = e.eval_set_id and te.model_id = t.teacher_id
    left join scores as b on b.eval_set_id = e.eval_set_id and b.model_id = s.base_id
)

select * from final order by eval_set_id, method, tau, lam, seed, trace_set_id
