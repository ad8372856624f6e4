/* A program that hangs in the ways ticket pastes show, for ast-locks' paste tests:
 * - self_deadlock locks self_lock (a default, non-recursive mutex) twice;
 * - cycle_a and cycle_b take two mutexes in opposite orders (a 2-cycle);
 * - spin_holder holds spin_lock and sleeps; spinner retries it with trylock and
 *   sched_yield, as Asterisk's ast_unreal_lock_all and channel deadlock avoidance do;
 * - cond_waiter waits on a condition variable that is never signalled;
 * - table_reader holds table_lock for reading and sleeps; table_writer waits to write.
 * It prints "ready <pid>" once every thread is where it will stay, then waits forever. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t self_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cycle_a_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cycle_b_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t spin_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t both_hold;
static atomic_int spin_held, reader_ready;

static void relock(pthread_mutex_t *m) {
    pthread_mutex_lock(m);
}

static void *self_deadlock_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&self_lock);
    relock(&self_lock);
    return NULL;
}

static void *cycle_a_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&cycle_a_lock);
    pthread_barrier_wait(&both_hold);
    pthread_mutex_lock(&cycle_b_lock);
    return NULL;
}

static void *cycle_b_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&cycle_b_lock);
    pthread_barrier_wait(&both_hold);
    pthread_mutex_lock(&cycle_a_lock);
    return NULL;
}

static void *spin_holder_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&spin_lock);
    atomic_store(&spin_held, 1);
    for (;;) {
        sleep(1000);
    }
    return NULL;
}

/* The shape of Asterisk's ast_unreal_lock_all: trylock, back off, retry. */
static void lock_all_trylock(pthread_mutex_t *m) {
    while (pthread_mutex_trylock(m) != 0) {
        sched_yield();
    }
}

static void *spinner_main(void *arg) {
    (void)arg;
    while (!atomic_load(&spin_held)) {
        usleep(1000);
    }
    lock_all_trylock(&spin_lock);
    return NULL;
}

static void *cond_waiter_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&cond_lock);
    for (;;) {
        pthread_cond_wait(&never, &cond_lock);
    }
    return NULL;
}

static void *table_reader_main(void *arg) {
    (void)arg;
    pthread_rwlock_rdlock(&table_lock);
    atomic_store(&reader_ready, 1);
    for (;;) {
        sleep(1000);
    }
    return NULL;
}

static void *table_writer_main(void *arg) {
    (void)arg;
    while (!atomic_load(&reader_ready)) {
        usleep(1000);
    }
    pthread_rwlock_wrlock(&table_lock);
    return NULL;
}

static void start(void *(*fn)(void *), const char *name) {
    pthread_t t;
    pthread_create(&t, NULL, fn, NULL);
    pthread_setname_np(t, name);
}

int main(void) {
    pthread_barrier_init(&both_hold, NULL, 2);
    start(self_deadlock_main, "self_deadlock");
    start(cycle_a_main, "cycle_a");
    start(cycle_b_main, "cycle_b");
    start(spin_holder_main, "spin_holder");
    start(spinner_main, "spinner");
    start(cond_waiter_main, "cond_waiter");
    start(table_reader_main, "table_reader");
    start(table_writer_main, "table_writer");
    /* Time for every waiter to block in the kernel. */
    usleep(300 * 1000);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    for (;;) {
        pause();
    }
    return 0;
}
