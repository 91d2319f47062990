//! The syntax tree the parser builds and the compiler reads.

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum UnOp {
    Neg,
    Not,
    Len,
}

#[derive(Debug)]
pub(crate) enum Expr {
    Nil,
    True,
    False,
    Num(f64),
    Str(Vec<u8>),
    Vararg,
    Function(Box<FuncBody>),
    Name(Vec<u8>, u32),
    Index(Box<Expr>, Box<Expr>, u32),
    Call(Box<Expr>, Vec<Expr>, u32),
    Method(Box<Expr>, Vec<u8>, Vec<Expr>, u32),
    Bin(BinOp, Box<Expr>, Box<Expr>, u32),
    Un(UnOp, Box<Expr>, u32),
    Table(Vec<Field>, u32),
    Paren(Box<Expr>),
}

#[derive(Debug)]
pub(crate) enum Field {
    Pos(Expr),
    Named(Expr, Expr),
}

#[derive(Debug)]
pub(crate) struct FuncBody {
    pub params: Vec<Vec<u8>>,
    pub vararg: bool,
    pub body: Vec<Stat>,
    pub line: u32,
    pub end_line: u32,
}

#[derive(Debug)]
pub(crate) enum Stat {
    Expr(Expr),
    Local(Vec<Vec<u8>>, Vec<Expr>, u32),
    Assign(Vec<Expr>, Vec<Expr>, u32),
    Do(Vec<Stat>),
    While(Expr, Vec<Stat>, u32),
    Repeat(Vec<Stat>, Expr, u32),
    If(Vec<(Expr, Vec<Stat>)>, Option<Vec<Stat>>, u32),
    NumFor(Vec<u8>, Expr, Expr, Option<Expr>, Vec<Stat>, u32),
    GenFor(Vec<Vec<u8>>, Vec<Expr>, Vec<Stat>, u32),
    Function(Expr, Box<FuncBody>, u32),
    LocalFunction(Vec<u8>, Box<FuncBody>, u32),
    Return(Vec<Expr>, u32),
    Break(u32),
}

impl Expr {
    pub fn is_multi(&self) -> bool {
        matches!(self, Expr::Call(..) | Expr::Method(..) | Expr::Vararg)
    }
}
