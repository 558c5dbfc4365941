//! From a plan to the operations an executor runs, as a DAG.
//!
//! Each change becomes zero, one or two [`Step`]s (a replace is a create and a
//! delete), each listing the steps it must wait for:
//!
//! 1. creates and updates wait for the creates and updates of what they depend on;
//! 2. a delete-before-create replacement creates the new copy after deleting the
//!    old one;
//! 3. a delete waits for the deletes of everything that depended on the resource
//!    (the dependencies recorded in the state), so deletes run in reverse dependency
//!    order;
//! 4. a create-before-delete replacement deletes the old copy after creating the new
//!    one and after its dependents were created or updated to use the new copy;
//! 5. a delete waits for the updates of resources that used it and are being changed
//!    to stop using it.
//!
//! Edges are added in that order, each only when it keeps the graph free of cycles.
//! Rules 1 and 2 never form one (the plugins' graph has none, and rule 2 starts at
//! deletes, which nothing precedes yet); rules 3 to 5 can when a dependency is
//! reversed between the state and the plugins. An edge left out means AWS may report
//! a dependency still in use, which the providers retry.
//!
//! Deciding whether an edge makes a cycle takes no search in the usual case: the
//! graph keeps a topological order (first that of every proposed edge, when they
//! form none), and an edge that agrees with it cannot close a cycle. Only an edge
//! against the order is searched for, between its two ends, and the order mended
//! (Pearce and Kelly's dynamic topological sort). A plan of 100,000 chained
//! resources orders its steps in about a second, and so does its destroy (a search
//! per edge took minutes).
//!
//! A known limit (Terraform has it too): when a resource is replaced
//! delete-before-create and a dependent is only *updated* to use the new copy, the
//! update must wait for the new copy, which waits for the old one's deletion, so
//! the old copy is deleted while the dependent still uses it. AWS refuses some such
//! deletes (a security group still attached to a cache cluster) until the provider
//! gives up. The cure is in the schema: a kind whose copies can coexist (a generated
//! or suffixed name) should allow create-before-delete.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Action, Plan, ReplaceOrder};
use crate::address::Address;

/// One operation of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The index of its change in [`Plan::changes`].
    pub change: usize,
    /// The resource.
    pub address: Address,
    /// What to do.
    pub op: StepOp,
    /// The steps (indices into the list [`Plan::steps`] returned, all smaller than
    /// this step's own) that must finish first. Sorted.
    pub after: Vec<usize>,
}

/// What a [`Step`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOp {
    /// Create the resource: a create, or the create half of a replace. In a
    /// create-before-delete replace, the executor first moves the current object to
    /// [`State::deposed`](crate::state::State::deposed), so a crash before the old
    /// copy is deleted leaves it recorded.
    Create,
    /// Update it in place.
    Update,
    /// Delete the current object: a delete, or the first half of a
    /// delete-before-create replace.
    Delete,
    /// Delete the deposed object: the old copy of a create-before-delete replace (moved
    /// aside by its create step), or one an interrupted apply left in the state.
    DeleteDeposed,
}

impl Plan {
    /// The operations that carry out the plan, in an order that satisfies every
    /// step's [`Step::after`] (see the module documentation for the rules). An
    /// executor may run steps concurrently as soon as their `after` steps are done.
    pub fn steps(&self) -> Vec<Step> {
        let mut g = StepGraph::default();
        // Node ids follow the changes' (address) order, which breaks ties below.
        let mut apply_node: BTreeMap<&Address, usize> = BTreeMap::new();
        let mut delete_node: BTreeMap<&Address, usize> = BTreeMap::new();
        let mut deposed_node: BTreeMap<&Address, usize> = BTreeMap::new();
        for (i, c) in self.changes.iter().enumerate() {
            match c.action {
                Action::NoOp => {}
                Action::Create => {
                    apply_node.insert(&c.address, g.node(i, StepOp::Create));
                }
                Action::Update => {
                    apply_node.insert(&c.address, g.node(i, StepOp::Update));
                }
                Action::Replace => {
                    let (del_op, table) = match c.replace_order {
                        Some(ReplaceOrder::CreateBeforeDelete) => {
                            (StepOp::DeleteDeposed, &mut deposed_node)
                        }
                        _ => (StepOp::Delete, &mut delete_node),
                    };
                    apply_node.insert(&c.address, g.node(i, StepOp::Create));
                    table.insert(&c.address, g.node(i, del_op));
                }
                Action::Delete if c.deposed => {
                    deposed_node.insert(&c.address, g.node(i, StepOp::DeleteDeposed));
                }
                Action::Delete => {
                    delete_node.insert(&c.address, g.node(i, StepOp::Delete));
                }
            }
        }

        // Who depended on what, according to the state (current and deposed objects).
        let mut prior_dependents: BTreeMap<&Address, BTreeSet<&Address>> = BTreeMap::new();
        for c in &self.changes {
            for d in c.prior.iter().flat_map(|p| &p.dependencies) {
                prior_dependents.entry(d).or_default().insert(&c.address);
            }
        }
        let mut desired_dependents: BTreeMap<&Address, BTreeSet<&Address>> = BTreeMap::new();
        for c in self.changes.iter().filter(|c| c.action != Action::Delete) {
            for d in &c.dependencies {
                desired_dependents.entry(d).or_default().insert(&c.address);
            }
        }

        // Rule 1: creates and updates after their dependencies' creates and updates.
        for c in self.changes.iter().filter(|c| c.action != Action::Delete) {
            let Some(&to) = apply_node.get(&c.address) else {
                continue;
            };
            for d in &c.dependencies {
                if let Some(&from) = apply_node.get(d) {
                    g.edge_if_acyclic(from, to);
                }
            }
        }
        // Rule 2: delete-before-create.
        for c in &self.changes {
            if c.action == Action::Replace
                && c.replace_order != Some(ReplaceOrder::CreateBeforeDelete)
                && let (Some(&del), Some(&create)) =
                    (delete_node.get(&c.address), apply_node.get(&c.address))
            {
                g.edge_if_acyclic(del, create);
            }
        }
        let all_deletes: Vec<(&Address, usize)> = delete_node
            .iter()
            .chain(deposed_node.iter())
            .map(|(a, n)| (*a, *n))
            .collect();
        // Rule 3: deletes in reverse dependency order.
        for &(address, to) in &all_deletes {
            for y in prior_dependents.get(address).into_iter().flatten() {
                for from in [delete_node.get(y), deposed_node.get(y)]
                    .into_iter()
                    .flatten()
                {
                    g.edge_if_acyclic(*from, to);
                }
            }
        }
        // Rule 4: create-before-delete.
        for c in &self.changes {
            if c.action == Action::Replace
                && c.replace_order == Some(ReplaceOrder::CreateBeforeDelete)
                && let (Some(&create), Some(&del)) =
                    (apply_node.get(&c.address), deposed_node.get(&c.address))
            {
                g.edge_if_acyclic(create, del);
                for y in desired_dependents.get(&c.address).into_iter().flatten() {
                    if let Some(&from) = apply_node.get(y) {
                        g.edge_if_acyclic(from, del);
                    }
                }
            }
        }
        // Rule 5: deletes after the updates of those that stop using them.
        for &(address, to) in &all_deletes {
            for y in prior_dependents.get(address).into_iter().flatten() {
                if let Some(&from) = apply_node.get(y) {
                    g.edge_if_acyclic(from, to);
                }
            }
        }

        g.sorted(self)
    }
}

#[derive(Default)]
struct StepGraph {
    /// (change index, op) per node.
    nodes: Vec<(usize, StepOp)>,
    /// Edges proposed, in rule order; [`StepGraph::settle`] keeps each that makes
    /// no cycle with those kept before it.
    proposed: Vec<(usize, usize)>,
    /// Successors per node.
    next: Vec<BTreeSet<usize>>,
    /// Predecessors per node.
    prev: Vec<Vec<usize>>,
    /// Each node's position in a topological order of the edges kept so far.
    ord: Vec<usize>,
}

impl StepGraph {
    fn node(&mut self, change: usize, op: StepOp) -> usize {
        self.nodes.push((change, op));
        self.next.push(BTreeSet::new());
        self.nodes.len() - 1
    }

    /// Proposes `from -> to`, kept unless `to` already reaches `from` then.
    fn edge_if_acyclic(&mut self, from: usize, to: usize) {
        self.proposed.push((from, to));
    }

    /// Keeps the proposed edges that make no cycle, in the order proposed.
    fn settle(&mut self) {
        let n = self.nodes.len();
        // Start from a topological order of every proposed edge (Kahn's, ties by
        // id; nodes on a cycle go last), which all of them usually agree with.
        let mut waiting = vec![0usize; n];
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(from, to) in &self.proposed {
            if from != to {
                succ[from].push(to);
                waiting[to] += 1;
            }
        }
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut placed = vec![false; n];
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            placed[i] = true;
            order.push(i);
            for &j in &succ[i] {
                waiting[j] -= 1;
                if waiting[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        order.extend((0..n).filter(|&i| !placed[i]));
        self.ord = vec![0; n];
        for (position, &i) in order.iter().enumerate() {
            self.ord[i] = position;
        }
        self.prev = vec![Vec::new(); n];
        for (from, to) in std::mem::take(&mut self.proposed) {
            self.add_if_acyclic(from, to);
        }
    }

    fn add_if_acyclic(&mut self, from: usize, to: usize) {
        if from == to || self.next[from].contains(&to) {
            return;
        }
        let (low, high) = (self.ord[to], self.ord[from]);
        if high > low {
            // Against the order: `to` can reach `from` only through nodes placed
            // between them. Search forward from `to`, then back from `from`.
            let mut reached = Vec::new();
            let mut seen = BTreeSet::new();
            let mut stack = vec![to];
            while let Some(x) = stack.pop() {
                if x == from {
                    return; // a cycle
                }
                if seen.insert(x) {
                    reached.push(x);
                    stack.extend(
                        self.next[x]
                            .iter()
                            .copied()
                            .filter(|&y| self.ord[y] <= high),
                    );
                }
            }
            let mut reaching = Vec::new();
            let mut seen = BTreeSet::new();
            let mut stack = vec![from];
            while let Some(x) = stack.pop() {
                if seen.insert(x) {
                    reaching.push(x);
                    stack.extend(self.prev[x].iter().copied().filter(|&y| self.ord[y] >= low));
                }
            }
            // Mend the order: what reaches `from` before what `to` reaches, each
            // keeping its own order, in the positions they held.
            reaching.sort_by_key(|&x| self.ord[x]);
            reached.sort_by_key(|&x| self.ord[x]);
            let mut slots: Vec<usize> = reaching
                .iter()
                .chain(&reached)
                .map(|&x| self.ord[x])
                .collect();
            slots.sort_unstable();
            for (&x, slot) in reaching.iter().chain(&reached).zip(slots) {
                self.ord[x] = slot;
            }
        }
        self.next[from].insert(to);
        self.prev[to].push(from);
    }

    /// Topological order, ties by node id; `after` as positions in that order.
    fn sorted(&mut self, plan: &Plan) -> Vec<Step> {
        self.settle();
        let n = self.nodes.len();
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (from, succ) in self.next.iter().enumerate() {
            for &to in succ {
                preds[to].push(from);
            }
        }
        let mut remaining: Vec<usize> = preds.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
        let mut position = vec![usize::MAX; n];
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            position[i] = order.len();
            order.push(i);
            for &j in &self.next[i] {
                remaining[j] -= 1;
                if remaining[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        order
            .into_iter()
            .map(|i| {
                let (change, op) = self.nodes[i];
                let mut after: Vec<usize> = preds[i].iter().map(|&p| position[p]).collect();
                after.sort_unstable();
                Step {
                    change,
                    address: plan.changes[change].address.clone(),
                    op,
                    after,
                }
            })
            .collect()
    }
}
