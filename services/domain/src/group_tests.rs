//! Given/when/then tests of the group rules and AddCustomAttributes.

use super::*;
use crate::evolve::AggregateState;
use crate::pb::SchemaAttribute;
use crate::testkit::{apply, ctx, pool};

fn err(r: Result<Vec<Event>, Rejected>) -> String {
    match r {
        Err(r) => r.error.name().to_string(),
        Ok(e) => panic!("expected an error, got {e:?}"),
    }
}

fn settings(description: &str, precedence: Option<u32>) -> GroupSettings {
    GroupSettings { description: description.into(), precedence, role_arn: String::new() }
}

#[test]
fn create_update_delete_and_recreate_with_a_new_incarnation() {
    let mut c = ctx();
    let p = pool(&mut c, &[]);
    let create = |name: &str, c: &mut crate::testkit::FakeCtx, state: Option<&GroupState>| {
        decide(state, GroupCommand::Create { pool: Some(p.clone()), group_name: name.into(), settings: settings("d", Some(2)) }, c)
    };
    let events = create("admins", &mut c, None).expect("create");
    let Some(AggregateState::Group(g)) = apply(None, &events, c.now) else { panic!("no group") };
    assert_eq!((g.group_name.as_str(), g.pool_id.as_str()), ("admins", "us-east-1_Test1"));
    assert!(!g.group_id.is_empty());
    assert_eq!(err(create("admins", &mut c, Some(&g))), "GroupExistsException");

    let events = decide(Some(&g), GroupCommand::Update { description: None, precedence: Some(0), role_arn: None }, &mut c).expect("update");
    let Some(AggregateState::Group(g2)) = apply(Some(AggregateState::Group(g.clone())), &events, c.now) else { panic!("no group") };
    let s = g2.settings.clone().unwrap_or_default();
    assert_eq!((s.description.as_str(), s.precedence), ("d", Some(0)), "unset members are kept");
    assert_eq!(decide(Some(&g2), GroupCommand::Update { description: Some("d".into()), precedence: None, role_arn: None }, &mut c), Ok(vec![]));

    let events = decide(Some(&g2), GroupCommand::Delete, &mut c).expect("delete");
    assert_eq!(apply(Some(AggregateState::Group(g2)), &events, c.now), None);
    let again = create("admins", &mut c, None).expect("re-create");
    let Some(AggregateState::Group(g3)) = apply(None, &again, c.now) else { panic!("no group") };
    assert_ne!(g3.group_id, g.group_id, "a new incarnation");
}

#[test]
fn bad_input_and_missing_things() {
    let mut c = ctx();
    let p = pool(&mut c, &[]);
    let create = |name: &str, s: GroupSettings, pool: Option<PoolState>, c: &mut crate::testkit::FakeCtx| {
        decide(None, GroupCommand::Create { pool, group_name: name.into(), settings: s }, c)
    };
    assert_eq!(err(create("a b", settings("", None), Some(p.clone()), &mut c)), "InvalidParameterException");
    assert_eq!(err(create("", settings("", None), Some(p.clone()), &mut c)), "InvalidParameterException");
    assert_eq!(err(create(&"g".repeat(129), settings("", None), Some(p.clone()), &mut c)), "InvalidParameterException");
    assert_eq!(err(create("g", settings(&"d".repeat(2049), None), Some(p.clone()), &mut c)), "InvalidParameterException");
    let bad_arn = GroupSettings { role_arn: "not-an-arn-at-all-really".into(), ..Default::default() };
    assert_eq!(err(create("g", bad_arn, Some(p.clone()), &mut c)), "InvalidParameterException");
    let arn = GroupSettings { role_arn: "arn:aws:iam::123456789012:role/Admin".into(), ..Default::default() };
    assert!(create("g", arn, Some(p.clone()), &mut c).is_ok());
    assert_eq!(err(create("g", settings("", None), None, &mut c)), "ResourceNotFoundException");
    assert_eq!(err(decide(None, GroupCommand::Delete, &mut c)), "ResourceNotFoundException");
    assert_eq!(err(decide(None, GroupCommand::Update { description: None, precedence: None, role_arn: None }, &mut c)), "ResourceNotFoundException");
}

#[test]
fn token_order_is_by_precedence_then_name() {
    let g = |name: &str, p: Option<u32>| GroupState { group_name: name.into(), settings: Some(settings("", p)), ..Default::default() };
    let mut groups = vec![g("z", None), g("b", Some(5)), g("a", None), g("c", Some(1)), g("d", Some(5))];
    token_order(&mut groups);
    assert_eq!(groups.iter().map(|g| g.group_name.as_str()).collect::<Vec<_>>(), vec!["c", "b", "d", "a", "z"]);
}

#[test]
fn custom_attributes_get_the_prefix_and_must_be_new_and_valid() {
    let mut c = ctx();
    let p = pool(&mut c, &[]);
    let attr = |name: &str, t: &str| SchemaAttribute { name: name.into(), data_type: t.into(), mutable: true, ..Default::default() };
    let events = add_custom_attributes(Some(&p), vec![attr("tier", "Number"), attr("custom:born", "DateTime")]).expect("add");
    let Some(AggregateState::Pool(p2)) = apply(Some(AggregateState::Pool(p.clone())), &events, c.now) else { panic!("no pool") };
    let names: Vec<&str> = p2.settings.as_ref().map(|s| s.schema.iter().map(|a| a.name.as_str()).collect()).unwrap_or_default();
    assert!(names.contains(&"custom:tier") && names.contains(&"custom:born"));
    assert_eq!(err(add_custom_attributes(Some(&p2), vec![attr("tier", "String")])), "InvalidParameterException");
    assert_eq!(err(add_custom_attributes(Some(&p), vec![attr("x", "Blob")])), "InvalidParameterException");
    assert_eq!(err(add_custom_attributes(Some(&p), vec![attr("a b", "String")])), "InvalidParameterException");
    assert_eq!(err(add_custom_attributes(Some(&p), vec![attr(&"n".repeat(21), "String")])), "InvalidParameterException");
    assert_eq!(err(add_custom_attributes(Some(&p), vec![])), "InvalidParameterException");
    let required = SchemaAttribute { required: true, ..attr("r", "String") };
    assert_eq!(err(add_custom_attributes(Some(&p), vec![required])), "InvalidParameterException");
    let bounds = SchemaAttribute { min_value: Some(5), max_value: Some(1), ..attr("n", "Number") };
    assert_eq!(err(add_custom_attributes(Some(&p), vec![bounds])), "InvalidParameterException");
    let mixed = SchemaAttribute { min_value: Some(1), ..attr("s", "String") };
    assert_eq!(err(add_custom_attributes(Some(&p), vec![mixed])), "InvalidParameterException");
    assert_eq!(err(add_custom_attributes(None, vec![attr("t", "String")])), "ResourceNotFoundException");
}
