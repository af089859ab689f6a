/**
 * Splits a callgrind dump's instruction count into the program's own work and what V8 did beside
 * it: garbage collection and compiling (parsing, bytecode, baseline and optimised code, deoptimising).
 * Under a load those two come in bursts (a major collection every few thousand calls, TurboFan
 * recompiling now and then), so a window of calls holds one or none of them; the own work is what
 * each call does every time, and is the figure that repeats.
 *
 * V8's work is counted by where the instructions ran (node ships with its symbols): the instructions
 * of the collector's and the compilers' own functions, whose names contain one of those below. Counting each
 * instruction where it ran (a function's self cost) counts it once; the shared helpers those call
 * (memcpy, the allocator, hash tables) stay in the own work, a small part of either.
 */
import { readFileSync } from 'node:fs';

const GC = [
  'v8::internal::Heap::',
  'v8::internal::heap::',
  'heap::base::',
  'cppgc::',
  'IncrementalMarking',
  'MarkCompact',
  'Marking',
  'Scaveng',
  'Sweeper',
  'Evacuat',
  'RememberedSet',
  'SlotSet',
  'TypedSlot',
  'MemoryReducer',
  'v8::internal::LocalHeap',
  'v8::internal::PagedSpace',
  'v8::internal::SemiSpace',
  'v8::internal::MemoryAllocator',
  'v8::internal::WeakObjects',
  'v8::internal::GCTracer',
  'v8::internal::ObjectStatsCollector',
  'RecordMigratedSlot',
  'PointersUpdating',
  'UpdateTypedSlotHelper',
  'LiveObjectRange',
  'StringTableCleaner',
  'PretenuringHandler',
  'v8::internal::GlobalHandles',
];
const COMPILER = [
  'v8::internal::compiler::',
  'v8::internal::Compiler',
  'v8::internal::baseline::',
  'v8::internal::maglev::',
  'v8::internal::interpreter::Bytecode',
  'v8::internal::interpreter::ConstantArrayBuilder',
  'v8::internal::interpreter::HandlerTableBuilder',
  'v8::internal::Parser',
  'v8::internal::ParserBase',
  'v8::internal::PreParser',
  'v8::internal::Scanner',
  'v8::internal::Scope',
  'v8::internal::DeclarationScope',
  'v8::internal::AstValueFactory',
  'v8::internal::AstRawString',
  'v8::internal::Zone',
  'v8::internal::Assembler',
  'v8::internal::AssemblerBase',
  'v8::internal::TurboAssembler',
  'v8::internal::MacroAssembler',
  'v8::internal::Deoptimizer',
  'v8::internal::TranslatedState',
  'v8::internal::TranslatedValue',
  'v8::internal::TranslatedFrame',
  'v8::internal::OptimizedCompilationInfo',
  'v8::internal::UnoptimizedCompileFlags',
  'v8::internal::ParseInfo',
  'v8::internal::SourcePositionTableBuilder',
  'v8::internal::SafepointTableBuilder',
  'v8::internal::RelocIterator',
  'v8::internal::wasm::',
];

export interface Split {
  total: number;
  gc: number;
  compiler: number;
  /** total − gc − compiler */
  own: number;
}

/**
 * By the name before its arguments (a template's return type may come first: `void v8::internal::…`).
 * A template that the collector instantiates with one of its visitors (`BodyDescriptorBase::
 * IteratePointers<MainMarkingVisitor<…>>`) is the collector's too: its template arguments count.
 */
function kindOf(name: string): 'gc' | 'compiler' | undefined {
  const head = name.split('(', 1)[0]!;
  if (GC.some((part) => head.includes(part))) return 'gc';
  if (COMPILER.some((part) => head.includes(part))) return 'compiler';
  return undefined;
}

/**
 * The split of one dump file, in callgrind's format: `fn=` names the function whose cost lines follow
 * (with name compression: `fn=(12) name`, then `fn=(12)`); a `calls=` line is followed by a call's
 * inclusive cost, which is the callee's and is skipped here; every other cost line is the function's own.
 */
export function splitDump(file: string): Split {
  const names = new Map<string, string>();
  const nameOf = (spec: string): string => {
    const match = /^\((\d+)\)(?: (.*))?$/.exec(spec);
    if (!match) return spec;
    if (match[2] !== undefined) names.set(match[1]!, match[2]);
    return names.get(match[1]!) ?? spec;
  };
  let total = 0;
  const v8 = { gc: 0, compiler: 0 };
  let kind: 'gc' | 'compiler' | undefined;
  let skipNext = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const first = line.charCodeAt(0);
    if (line.startsWith('fn=')) kind = kindOf(nameOf(line.slice(3)));
    else if (line.startsWith('cfn=')) nameOf(line.slice(4));
    else if (line.startsWith('calls=')) skipNext = true;
    else if (line.startsWith('totals:') || line.startsWith('summary:')) total = Number(line.split(/\s+/)[1]);
    else if ((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 42) {
      // A cost line: a position (a number, +n, -n or *), then the instruction count.
      if (skipNext) skipNext = false;
      else if (kind) v8[kind] += Number(line.trim().split(/\s+/).at(-1));
    }
  }
  return { total, ...v8, own: total - v8.gc - v8.compiler };
}
