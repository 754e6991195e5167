//! The values that cross between the index and its engines: `P` (what a query binds) and
//! `Get` (what a row yields): integers, reals, text, bytes and NULL, the types SQLite stores.
//! PostgreSQL's stricter types are met at the edge: a parameter is written as the type the
//! server inferred for it, and a column is read from whatever integer or boolean type the
//! server produced.

use tokio_postgres::types::{IsNull, ToSql, Type};

use super::{IndexError, Result};

/// A value a query binds.
#[derive(Debug, Clone, PartialEq)]
pub enum P<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What can be bound as a `P` (used through the `p!` macro).
pub trait Bind {
    fn bind(&self) -> P<'_>;
}

macro_rules! bind_int {
    ($($t:ty),*) => {$(
        impl Bind for $t {
            fn bind(&self) -> P<'_> {
                P::Int(*self as i64)
            }
        }
    )*};
}
bind_int!(i64, i32, u32, u64, usize, u16, u8);

impl Bind for bool {
    fn bind(&self) -> P<'_> {
        P::Int(i64::from(*self))
    }
}

impl Bind for f64 {
    fn bind(&self) -> P<'_> {
        P::Real(*self)
    }
}

impl Bind for str {
    fn bind(&self) -> P<'_> {
        P::Text(self)
    }
}

impl Bind for String {
    fn bind(&self) -> P<'_> {
        P::Text(self)
    }
}

impl Bind for [u8] {
    fn bind(&self) -> P<'_> {
        P::Blob(self)
    }
}

impl Bind for Vec<u8> {
    fn bind(&self) -> P<'_> {
        P::Blob(self)
    }
}

impl<T: Bind + ?Sized> Bind for &T {
    fn bind(&self) -> P<'_> {
        (**self).bind()
    }
}

impl<T: Bind> Bind for Option<T> {
    fn bind(&self) -> P<'_> {
        match self {
            Some(v) => v.bind(),
            None => P::Null,
        }
    }
}

impl Bind for P<'_> {
    fn bind(&self) -> P<'_> {
        self.clone()
    }
}

/// The parameters of a query: `p![number, state.as_str(), at]`.
macro_rules! p {
    ($($x:expr),* $(,)?) => {
        &[$($crate::index::values::Bind::bind(&$x)),*][..]
    };
}
pub(crate) use p;

impl rusqlite::ToSql for P<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            P::Null => ValueRef::Null,
            P::Int(v) => ValueRef::Integer(*v),
            P::Real(v) => ValueRef::Real(*v),
            P::Text(s) => ValueRef::Text(s.as_bytes()),
            P::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for P<'_> {
    /// Written as the type the server inferred for the parameter.
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, BoxError> {
        match self {
            P::Null => Ok(IsNull::Yes),
            P::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_string().to_sql(ty, out),
            },
            P::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                Type::FLOAT8 => v.to_sql(ty, out),
                _ => v.to_string().to_sql(ty, out),
            },
            P::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ => s.to_sql(ty, out),
            },
            P::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A row of a query's result, on either engine.
pub enum Row<'r> {
    Lite(&'r rusqlite::Row<'r>),
    Pg(&'r tokio_postgres::Row),
}

impl Row<'_> {
    pub fn get<T: Get>(&self, i: usize) -> Result<T> {
        match self {
            Row::Lite(r) => Ok(T::lite(r, i)?),
            Row::Pg(r) => T::pg(r, i),
        }
    }
}

impl<'r> Row<'r> {
    /// A text column borrowed from the row (no copy: large scans read millions).
    pub fn text(&self, i: usize) -> Result<&'r str> {
        self.text_opt(i)?.ok_or_else(|| null(i))
    }

    /// As `text`, NULL as `None`.
    pub fn text_opt(&self, i: usize) -> Result<Option<&'r str>> {
        match *self {
            Row::Lite(r) => Ok(r.get_ref(i)?.as_str_or_null().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?),
            Row::Pg(r) => Ok(r.try_get(i)?),
        }
    }
}

/// What a column can be read as.
pub trait Get: Sized {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self>;
    fn pg(r: &tokio_postgres::Row, i: usize) -> Result<Self>;
}

/// An integer column of any of PostgreSQL's integer types (or a boolean, as 0 and 1).
fn pg_int(r: &tokio_postgres::Row, i: usize) -> Result<Option<i64>> {
    let ty = r.columns().get(i).map(|c| c.type_().clone());
    Ok(match ty {
        Some(Type::INT8) => r.try_get::<_, Option<i64>>(i)?,
        Some(Type::INT4) => r.try_get::<_, Option<i32>>(i)?.map(i64::from),
        Some(Type::INT2) => r.try_get::<_, Option<i16>>(i)?.map(i64::from),
        Some(Type::BOOL) => r.try_get::<_, Option<bool>>(i)?.map(i64::from),
        _ => r.try_get::<_, Option<i64>>(i)?,
    })
}

fn null(i: usize) -> IndexError {
    IndexError::Corrupt(format!("column {i} is NULL where a value was expected"))
}

macro_rules! get_int {
    ($($t:ty),*) => {$(
        impl Get for $t {
            fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
                r.get(i)
            }
            fn pg(r: &tokio_postgres::Row, i: usize) -> Result<Self> {
                let v = pg_int(r, i)?.ok_or_else(|| null(i))?;
                <$t>::try_from(v).map_err(|e| IndexError::Corrupt(format!("column {i}: {e}")))
            }
        }
    )*};
}
get_int!(i64, i32, u32, u64, usize);

impl Get for bool {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &tokio_postgres::Row, i: usize) -> Result<Self> {
        Ok(pg_int(r, i)?.ok_or_else(|| null(i))? != 0)
    }
}

impl Get for f64 {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &tokio_postgres::Row, i: usize) -> Result<Self> {
        let ty = r.columns().get(i).map(|c| c.type_().clone());
        Ok(match ty {
            Some(Type::FLOAT4) => f64::from(r.try_get::<_, f32>(i)?),
            Some(Type::FLOAT8) => r.try_get::<_, f64>(i)?,
            _ => pg_int(r, i)?.ok_or_else(|| null(i))? as f64,
        })
    }
}

impl Get for String {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &tokio_postgres::Row, i: usize) -> Result<Self> {
        Ok(r.try_get(i)?)
    }
}

impl Get for Vec<u8> {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &tokio_postgres::Row, i: usize) -> Result<Self> {
        Ok(r.try_get(i)?)
    }
}

/// Options read NULL as `None`; on PostgreSQL a value is read as `T` reads it.
impl<T: Get + rusqlite::types::FromSql> Get for Option<T> {
    fn lite(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &tokio_postgres::Row, i: usize) -> Result<Self> {
        let is_null = match r.columns().get(i).map(|c| c.type_().clone()) {
            Some(Type::INT8) => r.try_get::<_, Option<i64>>(i)?.is_none(),
            Some(Type::INT4) => r.try_get::<_, Option<i32>>(i)?.is_none(),
            Some(Type::INT2) => r.try_get::<_, Option<i16>>(i)?.is_none(),
            Some(Type::BOOL) => r.try_get::<_, Option<bool>>(i)?.is_none(),
            Some(Type::FLOAT8) => r.try_get::<_, Option<f64>>(i)?.is_none(),
            Some(Type::FLOAT4) => r.try_get::<_, Option<f32>>(i)?.is_none(),
            Some(Type::BYTEA) => r.try_get::<_, Option<Vec<u8>>>(i)?.is_none(),
            _ => r.try_get::<_, Option<String>>(i)?.is_none(),
        };
        if is_null {
            Ok(None)
        } else {
            T::pg(r, i).map(Some)
        }
    }
}

/// A parameter kept beyond the statement's call (a deferred statement's, see `Db::defer`).
#[derive(Debug, Clone)]
pub enum Owned {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Owned {
    pub fn of(p: &P) -> Owned {
        match *p {
            P::Null => Owned::Null,
            P::Int(v) => Owned::Int(v),
            P::Real(v) => Owned::Real(v),
            P::Text(s) => Owned::Text(s.to_string()),
            P::Blob(b) => Owned::Blob(b.to_vec()),
        }
    }

    pub fn as_p(&self) -> P<'_> {
        match self {
            Owned::Null => P::Null,
            Owned::Int(v) => P::Int(*v),
            Owned::Real(v) => P::Real(*v),
            Owned::Text(s) => P::Text(s),
            Owned::Blob(b) => P::Blob(b),
        }
    }
}
